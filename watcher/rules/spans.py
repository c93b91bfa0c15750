"""Questions about many matches at once, in n log n instead of one match against every other.

An item's text decides how many matches the scorer handles: a feed that repeats "police court
prosecutor" over 100,000 characters gives thousands of each, and comparing every match of a
term with every match of another took 25 s for one item. The scorer asks these functions
only when there are many; for a few it keeps its plain loops (which say the same).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class Span(Protocol):
    @property
    def field(self) -> int: ...
    @property
    def nstart(self) -> int: ...
    @property
    def nend(self) -> int: ...


S = TypeVar("S", bound=Span)
T = TypeVar("T", bound=Span)


class Covers:
    """Which spans lie inside one of ``spans`` (same field, ``nstart``/``nend`` within)."""

    def __init__(self, spans: Sequence[Span]) -> None:
        by_field: dict[int, list[tuple[int, int]]] = {}
        for s in spans:
            by_field.setdefault(s.field, []).append((s.nstart, s.nend))
        self._starts: dict[int, list[int]] = {}
        self._reach: dict[int, list[int]] = {}  # the furthest end among spans starting so far
        for f, pairs in by_field.items():
            pairs.sort()
            reach: list[int] = []
            for _, end in pairs:
                reach.append(max(end, reach[-1]) if reach else end)
            self._starts[f] = [a for a, _ in pairs]
            self._reach[f] = reach

    def __call__(self, h: Span) -> bool:
        starts = self._starts.get(h.field)
        if not starts:
            return False
        k = bisect.bisect_right(starts, h.nstart)
        return k > 0 and self._reach[h.field][k - 1] >= h.nend


def outside(hits: list[S], spans: Sequence[Span]) -> list[S]:
    """``hits`` without those inside one of ``spans``."""
    if not spans:
        return hits
    if len(hits) * len(spans) <= 256:
        return [h for h in hits if not any(_inside(h, s) for s in spans)]
    covers = Covers(spans)
    return [h for h in hits if not covers(h)]


def _inside(h: Span, s: Span) -> bool:
    return s.field == h.field and s.nstart <= h.nstart and h.nend <= s.nend


# The largest end and its term, and the largest end of any other term, over a set of spans.
_Best = tuple[int, int, int]
_NONE: _Best = (-1, -1, -1)


def _add(best: _Best, end: int, term: int) -> _Best:
    top, top_term, other = best
    if term == top_term:
        return (max(top, end), term, other)
    if end > top:
        return (end, term, top)
    return (top, top_term, max(other, end))


def _excluding(best: _Best, term: int) -> int:
    return best[2] if term == best[1] else best[0]


def nested_in_other(
    fired: list[tuple[int, list[S]]], beats: Callable[[int, int], bool]
) -> list[tuple[int, list[S]]]:
    """For each term's hits, those not inside a hit of another term that is longer or, over
    exactly the same words, ``beats`` it (the scorer's ``_drop_nested``, for many hits)."""
    spans = sorted((h.field, h.nstart, h.nend, i) for i, hits in fired for h in hits)
    same: dict[tuple[int, int, int], set[int]] = {}
    by_start: dict[tuple[int, int], _Best] = {}
    prefix: dict[int, tuple[list[int], list[_Best]]] = {}  # field -> starts, best up to each
    for f, a, b, i in spans:
        same.setdefault((f, a, b), set()).add(i)
        by_start[(f, a)] = _add(by_start.get((f, a), _NONE), b, i)
        starts, bests = prefix.setdefault(f, ([], []))
        bests.append(_add(bests[-1] if bests else _NONE, b, i))
        starts.append(a)

    def dropped(h: S, i: int) -> bool:
        if any(j != i and beats(j, i) for j in same[(h.field, h.nstart, h.nend)]):
            return True
        if _excluding(by_start[(h.field, h.nstart)], i) > h.nend:  # same start, ends later
            return True
        starts, bests = prefix[h.field]
        k = bisect.bisect_left(starts, h.nstart)  # spans starting before h
        return k > 0 and _excluding(bests[k - 1], i) >= h.nend

    out: list[tuple[int, list[S]]] = []
    for i, hits in fired:
        kept = [h for h in hits if not dropped(h, i)]
        if kept:
            out.append((i, kept))
    return out


def first_near_pair(
    lhits: list[S],
    rhits: list[T],
    within: int,
    weights: Sequence[float],
    word_index: Callable[[int, int], int],
) -> tuple[bool, tuple[S, T] | None]:
    """The scorer's ``_near_pair`` for many hits: ``(True, pair)`` with the first pair
    (left-major, in text order) of the same field, not the same span, at most ``within``
    words apart, in the field of highest weight that has one (or None); ``(False, None)``
    when the right side is not in word order (the plain loop must answer then)."""
    groups: dict[int, tuple[list[int], list[T]]] = {}
    for b in rhits:
        words, group = groups.setdefault(b.field, ([], []))
        w = word_index(b.field, b.nstart)
        if words and w < words[-1]:
            return False, None
        words.append(w)
        group.append(b)
    best: tuple[S, T] | None = None
    for a in lhits:
        if best is not None and weights[a.field] <= weights[best[0].field]:
            continue
        found = groups.get(a.field)
        if found is None:
            continue
        words, group = found
        wa = word_index(a.field, a.nstart)
        j = bisect.bisect_left(words, wa - within)
        while j < len(group) and words[j] <= wa + within:
            b = group[j]
            if not (a.nstart == b.nstart and a.nend == b.nend):
                best = (a, b)
                break
            j += 1
    return True, best
