"""How a topic adds up: weights, fields, requirements, exclusions, proximity; and properties
that hold for any text (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.models import Item
from watcher.rules import Rules, load_rules
from watcher.rules.explain import render_html, render_text

ROOT = Path(__file__).resolve().parent.parent

RULES = Rules.from_text(
    """
fields: {title: 2, summary: 1, content: 0.5}
entities:
  nk:
    title: North Korea
    aliases: [North Korea, North Korean*, КНДР, 북한, 조선]
    except: [조선소]
  ru:
    aliases: [Russia*, Россия, 러시아]
  cn:
    aliases: [China, 중국]
topics:
  - id: ret
    title: Return
    threshold: 4
    require: {all_of: [nk], any_of: [ru, cn]}
    terms: {"repatriat*": 3, "deport*": 3, "@cn": 1}
    near:
      - {terms: ["arrest*"], near: ["defector*"], within: 3, weight: 2}
    veto: [remains of soldiers]
    subtract: {profits: 2}
    ignore: [repatriation of earnings]
""",
    "test.yaml",
)


def item(title: str = "", summary: str = "", content: str = "") -> Item:
    return Item(source_id="s", guid="g", url="", title=title, summary=summary, content=content)


def ret(i: Item) -> tuple[float, bool]:
    t = RULES.score(i).get("ret")
    assert t is not None
    return t.score, t.alerted


def test_title_counts_more_than_summary_and_content() -> None:
    assert ret(item(title="North Korean deported from Russia")) == (6.0, True)
    assert ret(item(title="Russia", summary="North Korean deported")) == (3.0, False)
    assert ret(item(title="Russia", content="North Korean deported")) == (1.5, False)


def test_a_term_counts_once_at_its_best_field() -> None:
    s, _ = ret(item(title="deported", summary="deport deportation deportees", content="deport"))
    assert s == 6.0


def test_required_entities_all_of_and_any_of() -> None:
    t = RULES.score(item(title="Russia deports and repatriates migrants")).get("ret")
    assert t is not None and not t.alerted and t.missing == ("North Korea",)
    t = RULES.score(item(title="North Korean deported and repatriated")).get("ret")
    assert t is not None and not t.alerted and t.missing == ("ru or cn",)
    t = RULES.score(item(title="North Korean deported from Russia")).get("ret")
    assert t is not None and t.alerted and t.missing == ()
    kinds = {m.kind for m in t.matches}
    assert kinds == {"term", "entity"}


def test_entity_except_drops_alias_inside_it() -> None:
    t = RULES.score(item(title="조선소 노동자 러시아 deported")).get("ret")
    assert t is not None and t.missing == ("North Korea",)
    t = RULES.score(item(title="조선 노동자 러시아 deported")).get("ret")
    assert t is not None and t.missing == ()


def test_entity_as_a_term() -> None:
    assert ret(item(title="North Korean deported from China")) == (8.0, True)


def test_veto_stops_the_topic_and_says_which() -> None:
    t = RULES.score(item(title="Russia repatriates remains of soldiers to North Korea")).get("ret")
    assert t is not None and not t.alerted and t.score == 6.0
    assert t.vetoed_by is not None and t.vetoed_by.text == "remains of soldiers"


def test_subtract_takes_weight_away() -> None:
    s, alerted = ret(item(title="North Korean firm in Russia to repatriate profits"))
    assert (s, alerted) == (4.0, True)
    s, alerted = ret(item(title="North Korea", summary="Russia to repatriate profits"))
    assert (s, alerted) == (1.0, False)


def test_ignore_phrase_hides_the_terms_inside_it() -> None:
    s, _ = ret(item(title="North Korea and Russia ease repatriation of earnings"))
    assert s == 0.0
    s, _ = ret(
        item(title="North Korea and Russia: repatriation of earnings and defectors' repatriation")
    )
    assert s == 6.0


def test_proximity_within_n_words() -> None:
    near = RULES.score(item(title="Russia", summary="North Korean police arrest two defectors"))
    far = RULES.score(
        item(title="Russia", summary="North Korean police arrest one, two, three, four defectors")
    )
    tn, tf = near.get("ret"), far.get("ret")
    assert tn is not None and tf is not None
    assert tn.score == 2.0 and tf.score == 0.0
    (prox,) = [m for m in tn.matches if m.kind == "proximity"]
    assert prox.text == "arrest two defectors"


def test_explanations_render_as_text_and_html() -> None:
    i = item(title="North Korean <deported> from Russia & China")
    result = RULES.score(i)
    text = render_text(result, i)
    assert "ret (Return): ALERT, score 8 / threshold 4" in text
    assert "deport*" in text and "“deported”" in text
    html = render_html(result, i)
    assert "&lt;deported&gt;" in html and "<b>ret</b>" in html
    assert "<deported>" not in html
    quiet = RULES.score(item(title="nothing here"))
    assert "No topic alerts." in render_html(quiet, None)


def test_snippet_is_about_120_characters_around_the_match() -> None:
    words = " ".join(f"word{i}" for i in range(100))
    i = item(title="North Korea Russia", content=f"{words} deported {words}")
    t = RULES.score(i).get("ret")
    assert t is not None
    (m,) = [m for m in t.matches if m.term == "deport*"]
    assert "deported" in m.snippet and 100 <= len(m.snippet) <= 130
    assert m.snippet.startswith("…") and m.snippet.endswith("…")


SHIPPED = load_rules(ROOT / "keywords.yaml")
FRAGMENTS = [
    "North Korea",
    "КНДР",
    "북한",
    "탈북민이",
    "repatriated",
    "депортации",
    "<b>",
    "</b>",
    "forced-return",
    "“",
    "’",
    "\u00ad",
    "ＤＰＲＫ",
    "e\u0301",
    "ß",
    "İ",
    "ﬁ",
    " ",
    "\n",
    "-",
    "Russia",
    "Китай",
    "中",
    "北",
    "포로",
    "prisoners of war",
    "soldiers",
    "workers",
    "\u1107\u116e\u11a8",
]
texts = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(exclude_categories=()), max_size=60),  # surrogates, controls too
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=texts, summary=texts, content=texts)
@pytest.mark.parametrize("rules", [SHIPPED, RULES], ids=["shipped", "test"])
def test_scoring_never_raises_and_matches_point_at_the_text(
    rules: Rules, title: str, summary: str, content: str
) -> None:
    i = item(title, summary, content)
    result = rules.score(i)
    assert [t.topic for t in result.topics] == list(rules.topic_ids)
    for t in result.topics:
        assert t.score >= 0
        found = list(t.matches) + ([t.vetoed_by] if t.vetoed_by else [])
        for m in found:
            assert i.field_text(m.field)[m.start : m.end] == m.text
            assert 0 <= m.start < m.end <= len(i.field_text(m.field))
    render_text(result, i)
    render_html(result, i)


def test_a_term_inside_a_longer_term_does_not_count_twice() -> None:
    rules = Rules.from_text(
        "fields: {title: 1, summary: 1, content: 1}\n"
        "topics:\n  - id: t\n    title: T\n    threshold: 1\n"
        "    terms: {police: 1, border police: 2, deport*: 1, deportation: 5}\n"
    )
    t = rules.score(item(title="Border police")).get("t")
    assert t is not None and t.score == 2.0
    t = rules.score(item(title="Border police and police")).get("t")
    assert t is not None and t.score == 3.0
    # the same words matched by two terms: the heavier wins, whatever the order
    t = rules.score(item(title="deportation")).get("t")
    assert t is not None and t.score == 5.0


NEAR_RULES = Rules.from_text(
    """
fields: {title: 2, summary: 1, content: 1}
entities:
  nk: {title: North Korea, aliases: [North Korean*, Pyongyang]}
  ru: {title: Russia, aliases: [Russia*, Siberia]}
  home: {title: at home, aliases: [shock brigade*]}
topics:
  - id: work
    title: Workers abroad
    threshold: 4
    require: {all_of: [nk], any_of: [ru], within: 5}
    terms: {worker*: 4, "@ru": 1}
    subtract: {"@home": 3}
""",
    "near.yaml",
)

WITHIN_CASES = [
    # (content, alerts, too_far): the entities must be within 5 words of a counted term
    ("North Korean workers in Siberia", True, ""),
    ("Russia hired more North Korean workers", True, ""),
    (
        "Pyongyang, May 1 (KCNA) -- " + "The city celebrated the day. " * 3 + "Workers rested."
        " Later the minister flew to Russia.",
        False,
        "North Korea; Russia within 5 words of a term",
    ),
    (
        "North Korean workers rested. " + "It was warm. " * 4 + "Russia said nothing",
        False,
        "Russia within 5 words of a term",
    ),
    ("North Korean workers, shock brigade in Siberia", False, ""),  # 4 + 1 - 3 < 4
]


@pytest.mark.parametrize(("content", "alerts", "too_far"), WITHIN_CASES)
def test_required_entities_within_words_of_the_terms(
    content: str, alerts: bool, too_far: str
) -> None:
    t = NEAR_RULES.score(item(content=content)).get("work")
    assert t is not None and t.alerted is alerts and t.too_far == too_far
    assert t.missing == ()
    if too_far:
        assert f"not near the terms: {too_far}" in render_text(
            NEAR_RULES.score(item(content=content))
        )
    quick = NEAR_RULES.score(item(content=content), explain=False).get("work")
    assert quick is not None and (quick.alerted, quick.too_far) == (t.alerted, t.too_far)


def test_an_entity_used_as_a_term_is_not_its_own_evidence() -> None:
    """ "@ru" counts as a term, but Russia next to Russia does not tie it to the topic."""
    t = NEAR_RULES.score(item(content="North Korean workers rested. " + "x " * 8 + "Russia")).get(
        "work"
    )
    assert t is not None and t.score == 5.0 and t.too_far and not t.alerted
