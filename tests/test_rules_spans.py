"""The scorer's questions about many matches (watcher/rules/spans.py) give exactly what its
plain loops give, and a text stuffed with terms is scored in bounded time."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.models import Item
from watcher.rules import load_rules
from watcher.rules.score import MAX_HITS_PER_FIELD, Hit
from watcher.rules.spans import first_near_pair, nested_in_other, outside


@st.composite
def hits(draw: st.DrawFn, max_size: int = 120) -> list[Hit]:
    n = draw(st.integers(0, max_size))
    out = []
    for _ in range(n):
        f = draw(st.integers(0, 2))
        a = draw(st.integers(0, 60))
        b = a + draw(st.integers(1, 12))
        out.append(Hit(draw(st.integers(0, 5)), f, a, b, a, b))
    return sorted(out, key=lambda h: (h.field, h.start))


def _inside(h: Hit, s: Hit) -> bool:
    return s.field == h.field and s.nstart <= h.nstart and h.nend <= s.nend


@given(hits(), hits(30))
def test_outside_is_the_plain_filter(found: list[Hit], masks: list[Hit]) -> None:
    expected = [h for h in found if not any(_inside(h, s) for s in masks)]
    assert outside(found, masks) == expected


def _drop_nested_reference(
    fired: list[tuple[int, list[Hit]]], weights: list[float]
) -> list[tuple[int, list[Hit]]]:
    """The scorer's definition, one hit against every other."""
    spans = [(h.field, h.nstart, h.nend, i) for i, hs in fired for h in hs]

    def beats(j: int, i: int) -> bool:
        return weights[j] > weights[i] or (weights[j] == weights[i] and j < i)

    out = []
    for i, hs in fired:
        kept = [
            h
            for h in hs
            if not any(
                f == h.field
                and a <= h.nstart
                and h.nend <= b
                and j != i
                and (b - a > h.nend - h.nstart or beats(j, i))
                for f, a, b, j in spans
            )
        ]
        if kept:
            out.append((i, kept))
    return out


@given(st.lists(hits(40), min_size=1, max_size=6), st.lists(st.sampled_from([1.0, 2.0, 3.0])))
def test_nested_in_other_is_the_plain_rule(groups: list[list[Hit]], w: list[float]) -> None:
    weights = (w + [1.0] * len(groups))[: len(groups)]
    fired = [(i, hs) for i, hs in enumerate(groups) if hs]

    def beats(j: int, i: int) -> bool:
        return weights[j] > weights[i] or (weights[j] == weights[i] and j < i)

    assert nested_in_other(fired, beats) == _drop_nested_reference(fired, weights)


@given(hits(60), hits(60), st.integers(1, 12), st.lists(st.sampled_from([0.5, 1.0, 2.0])))
@settings(max_examples=300)
def test_first_near_pair_is_the_plain_loop(
    left: list[Hit], right: list[Hit], within: int, w: list[float]
) -> None:
    weights = [*w, 1.0, 1.0, 1.0][:3]

    def word(f: int, pos: int) -> int:
        return pos // 3  # a word every three characters

    best = None
    for a in left:
        for b in right:
            if a.field != b.field or (a.nstart == b.nstart and a.nend == b.nend):
                continue
            if best is not None and weights[a.field] <= weights[best[0].field]:
                continue
            if abs(word(a.field, a.nstart) - word(b.field, b.nstart)) <= within:
                best = (a, b)
    assert first_near_pair(left, right, within, weights, word) == (True, best)


def test_a_text_stuffed_with_terms_is_scored_quickly() -> None:
    """100,000 characters of "police court prosecutor" took 25 s to score (every match of a
    near rule's terms against every other); the first 1,000 places of a field decide."""
    rules = load_rules("keywords.yaml")
    text = "police court prosecutor arrested defector " * 2400
    item = Item(source_id="s", guid="g", url="", title="t", summary=text, content=text)
    started = time.perf_counter()
    result = rules.score(item)
    assert time.perf_counter() - started < 5.0  # a generous bound: ~0.05 s here
    assert result.topics
    assert MAX_HITS_PER_FIELD >= 500  # real fields have up to ~110 places
