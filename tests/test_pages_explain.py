"""The maintainers' pages' views, without a web server: the item view (highlighted pieces,
score arithmetic, requirements, the model's view) and the rules playground (validation,
the comparison of two rule sets, its bounds, a URL explained through the address guard)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import DATA
from tests.relevance_helpers import HELD, PROMOTED, tiny_model
from tests.servers import FeedServer
from watcher.errors import ConfigError, FetchError
from watcher.models import Item
from watcher.pages.item_view import Mark, item_view, pieces
from watcher.pages.playground import (
    MAX_YAML_BYTES,
    Playground,
    RulesDiff,
    compare,
    explain_text,
    parse_rules,
    shipped_corpora,
)
from watcher.relevance import load_model
from watcher.relevance.decide import Relevance
from watcher.relevance.files import load_relevance
from watcher.rules import Rules, load_rules
from watcher.rules.corpus import LabelledItem, read_corpus
from watcher.store import Database
from watcher.store.items import insert_item
from watcher.web.guard import AddressPolicy

KEYWORDS = DATA.parent.parent / "keywords.yaml"

RULES = """\
fields: {title: 2, summary: 1, content: 0.5}
entities:
  nk: {title: North Korea, aliases: [North Korea*, DPRK]}
  ru: {title: Russia, aliases: [Russia*]}
  cn: {title: China, aliases: [China, Chinese]}
topics:
  - id: workers
    title: Workers abroad
    threshold: 6
    require: {all_of: [nk], any_of: [ru, cn]}
    terms: {worker*: 3, labour*: 2}
    near:
      - {terms: [camp*], near: [logging], within: 3, weight: 1}
    subtract: {tourists: 2}
    veto: [football]
  - id: returns
    title: Forced return
    fields: {title: 4}
    threshold: 4
    require: {all_of: [nk]}
    terms: {deport*: 3}
"""


def _rules(text: str = RULES) -> Rules:
    return Rules.from_text(text, "keywords.yaml")


def _item(title: str, summary: str = "", content: str = "") -> Item:
    return Item("s", title, "", title, summary=summary, content=content)


# -- the pieces of a field ----------------------------------------------------------------

M = Mark("t", "term", "x", True)
N = Mark("u", "entity", "y", False)


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("abc", [], [("abc", ())]),
        ("", [], [("", ())]),
        ("North Korean workers", [(13, 20, M)], [("North Korean ", ()), ("workers", (M,))]),
        ("abcdef", [(0, 4, M), (2, 6, N)], [("ab", (M,)), ("cd", (M, N)), ("ef", (N,))]),
        ("abcdef", [(0, 6, M), (2, 3, N)], [("ab", (M,)), ("c", (M, N)), ("def", (M,))]),
        ("abc", [(0, 3, M), (0, 3, M)], [("abc", (M, M))]),
        ("abc", [(2, 9, M), (-1, 1, N), (2, 2, N)], [("abc", ())]),  # out of range: ignored
    ],
)
def test_pieces_cut_at_every_span_end(
    text: str, spans: list[tuple[int, int, Mark]], expected: list[tuple[str, tuple[Mark, ...]]]
) -> None:
    assert [(p.text, p.marks) for p in pieces(text, spans)] == expected


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from([M, N]))),
)
def test_pieces_rejoin_to_the_text_and_mark_exactly_their_spans(
    text: str, spans: list[tuple[int, int, Mark]]
) -> None:
    out = pieces(text, spans)
    assert "".join(p.text for p in out) == text
    at = 0
    for p in out:
        for i in range(at, at + len(p.text)):
            inside = sorted(
                (m.topic for s, e, m in spans if s <= i < e and 0 <= s < e <= len(text))
            )
            assert sorted(m.topic for m in p.marks) == inside
        at += len(p.text)


# -- the item view ------------------------------------------------------------------------

ARITHMETIC = [
    # title, content, topic, status, formulas, requirements met
    (
        "North Korean workers in Russia",
        "",
        "workers",
        "ALERT",
        ["3 × 2 (title) = 6"],
        [True, True],
    ),
    (
        "North Korean workers in Russia",
        "Tourists visited the logging camp.",
        "workers",
        "below threshold",
        ["3 × 2 (title) = 6", "1 × 0.5 (content) = 0.5", "-2"],
        [True, True],
    ),
    (
        "North Korean labourers",
        "",
        "workers",
        "missing entity",
        ["2 × 2 (title) = 4"],
        [True, False],
    ),
    ("Workers in China", "", "workers", "missing entity", ["3 × 2 (title) = 6"], [False, True]),
    (
        "DPRK workers in Russia play football",
        "",
        "workers",
        "vetoed",
        ["3 × 2 (title) = 6"],
        [True, True],
    ),
    ("DPRK deports workers", "", "returns", "ALERT", ["3 × 4 (title) = 12"], [True]),
    ("Weather in Seoul", "", "returns", "missing entity", [], [False]),
]


@pytest.mark.parametrize(("title", "content", "topic", "status", "formulas", "met"), ARITHMETIC)
def test_the_score_arithmetic_and_the_requirements(
    title: str, content: str, topic: str, status: str, formulas: list[str], met: list[bool]
) -> None:
    view = item_view(Relevance(_rules()), _item(title, content=content))
    [tv] = [t for t in view.topics if t.score.topic == topic]
    assert tv.status == status
    assert [s.formula for s in tv.steps] == formulas
    assert [r.met for r in tv.requirements] == met
    assert round(max(tv.total, 0.0), 6) == tv.score.score  # the steps add up to the score


def test_the_steps_add_up_to_the_score_on_every_labelled_item() -> None:
    relevance = Relevance(load_rules(KEYWORDS))
    items = read_corpus(DATA / "rules" / "dev.jsonl")
    checked = 0
    for li in items:
        for tv in item_view(relevance, li.item).topics:
            assert round(max(tv.total, 0.0), 6) == pytest.approx(tv.score.score), (li.id, tv)
            checked += bool(tv.steps)
    assert checked > 50


def test_matched_terms_are_highlighted_per_topic() -> None:
    view = item_view(Relevance(_rules()), _item("DPRK deports workers to Russia"))
    [title] = view.fields
    marked = {p.text: (set(p.topics), set(p.kinds)) for p in title.pieces if p.marks}
    assert marked["deports"] == ({"returns"}, {"term"})
    assert marked["workers"] == ({"workers"}, {"term"})
    assert marked["DPRK"] == ({"workers", "returns"}, {"entity"})
    assert marked["Russia"] == ({"workers"}, {"entity"})
    assert "".join(p.text for p in title.pieces) == "DPRK deports workers to Russia"


def test_a_long_field_is_cut_and_says_how_much(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "North Korean workers in Russia. " + "x " * 15_000
    view = item_view(Relevance(_rules()), _item("t", content=body))
    [content] = [f for f in view.fields if f.name == "content"]
    assert sum(len(p.text) for p in content.pieces) + content.cut == len(body)
    assert content.cut > 0


def test_the_models_view(tmp_path: Path) -> None:
    keywords, path, _ = tiny_model(tmp_path)
    off = item_view(load_relevance(load_rules(keywords), None), _item(PROMOTED))
    assert not off.model.asked and "rules only" in off.model.description
    relevance = load_relevance(load_rules(keywords), path)
    promoted = item_view(relevance, _item(PROMOTED))
    assert promoted.alerted == ("workers",)
    [(topic, p, decision)] = promoted.model.probabilities
    assert topic == "workers" and decision == "possible" and p >= relevance.model.promote  # type: ignore[union-attr]
    assert [t.status for t in promoted.topics] == [f"POSSIBLE MATCH (relevance model {p:.2f})"]
    assert promoted.model.nearest and "loggers" in promoted.model.nearest[0].example.title
    held = item_view(relevance, _item(HELD))
    assert held.alerted == () and held.model.probabilities[0][2] == "held"
    assert not item_view(relevance, _item("Weather in Seoul")).model.asked


# -- the playground: validation ------------------------------------------------------------

BAD_EDITS = [
    ("topics:\n  - id: x\n    title: X\n    threshold: four\n", "keywords.yaml (edited):4:"),
    ("topics: [\n", "keywords.yaml (edited):"),
    ("version: 1\n", "topics"),
    ("", "nothing pasted"),
    ("topics:\n  - id: a\n    title: A\n    threshold: 1\n    terms: {'@nowhere': 1}\n", ":5:"),
    ("a: &a [*a]\n", "keywords.yaml (edited):"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_EDITS)
def test_an_invalid_edit_lists_its_problems_by_line(text: str, expected: str) -> None:
    diff = asyncio.run(_diff(Relevance(_rules()), text))
    assert not diff.ok and not diff.labelled and not diff.recent
    assert any(expected in str(p) for p in diff.problems), [str(p) for p in diff.problems]


def test_size_and_encoding_are_checked_before_parsing() -> None:
    with pytest.raises(ConfigError, match="at most 256 KiB"):
        parse_rules(b"#" * (MAX_YAML_BYTES + 1))
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_rules(b"topics: \xff\n")
    assert parse_rules(b"\xef\xbb\xbf" + RULES.encode()).topic_ids == ("workers", "returns")


async def _diff(current: Relevance, text: str) -> RulesDiff:
    out = await Playground().diff(current, text, [], [])
    assert out is not None
    return out


# -- the playground: what an edit changes ----------------------------------------------------

LABELLED = [
    LabelledItem("c:1", _item("North Korean workers in Russia"), frozenset({"workers"})),
    LabelledItem("c:2", _item("North Korean labourers in Russian camps"), frozenset({"workers"})),
    LabelledItem("c:3", _item("DPRK tourists see Russia workers", "tourists"), frozenset()),
    LabelledItem("c:4", _item("Weather in Seoul"), frozenset()),
]

EDITS = [
    # what the edit does, the edit, labelled rows (id, before, after, verdict), stored rows
    ("nothing", RULES, [], []),
    (
        "raise the threshold",
        RULES.replace("threshold: 6", "threshold: 7"),
        [("1", {"workers"}, set(), "worse")],
        [("workers", set())],
    ),
    (
        "a new term",
        RULES.replace("labour*: 2", "labour*: 3"),
        [("2", set(), {"workers"}, "better")],
        [],
    ),
    (
        "rename the topic",
        RULES.replace("id: workers", "id: labour"),
        [("1", {"workers"}, {"labour"}, "worse")],
        [("workers", {"labour"})],
    ),
]


@pytest.mark.parametrize(("what", "edit", "labelled", "stored"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_shows_the_items_it_changes(
    what: str,
    edit: str,
    labelled: list[tuple[str, set[str], set[str], str]],
    stored: list[tuple[str, set[str]]],
    memdb: Database,
) -> None:
    with memdb.transaction() as tx:
        for title in ("North Korean workers in Russia", "Weather in Seoul"):
            insert_item(tx, _item(title), now=1.0)
    from watcher.pages.stored import recent

    diff = compare(Relevance(_rules()), parse_rules(edit), LABELLED, recent(memdb, 10))
    assert [(r.id, set(r.before), set(r.after), r.verdict) for r in diff.labelled] == labelled
    got = [(sorted(r.before)[0], set(r.after)) for r in diff.recent]
    assert got == stored
    assert all(r.item_id is not None and r.group == "stored" for r in diff.recent)
    assert (diff.judged_labelled, diff.judged_recent, diff.total) == (4, 2, 6)
    assert not diff.stopped


def test_the_cells_show_score_and_threshold_old_and_new() -> None:
    edit = parse_rules(RULES.replace("threshold: 6", "threshold: 7"))
    [row] = compare(Relevance(_rules()), edit, LABELLED[:1], []).labelled
    [cell] = row.cells
    assert cell.topic == "workers"
    assert (cell.before.score, cell.before.threshold, cell.before.alerted) == (6.0, 6.0, True)
    assert (cell.after.score, cell.after.threshold, cell.after.alerted) == (6.0, 7.0, False)


def test_the_comparison_stops_at_its_time_limit() -> None:
    ticks = iter(range(1000))
    diff = compare(
        Relevance(_rules()),
        _rules(),
        LABELLED * 30,
        [],
        deadline_s=1.5,
        clock=lambda: float(next(ticks)),
    )
    # the clock is read once at the start and before each chunk of 50 items
    assert diff.stopped == "stopped at the time limit (1.5 s): 50 of 120 items"
    assert diff.judged_labelled == 50


def test_the_shipped_corpora_and_the_model_take_part(tmp_path: Path) -> None:
    keywords, path, _ = tiny_model(tmp_path)
    current = Relevance(load_rules(keywords), load_model(path))
    labelled = [LabelledItem("tiny:x", _item(PROMOTED), frozenset({"workers"}))]
    edit = parse_rules(keywords.read_text().replace("threshold: 6", "threshold: 5"))
    diff = compare(current, edit, labelled, [])
    # the model promotes the item under both rules: no change; the held one stays held
    assert diff.labelled == () and diff.overall_before == diff.overall_after
    assert len(shipped_corpora()) > 1000
    ids = {li.id.split(":")[0] for li in shipped_corpora()}
    assert {"dev.jsonl", "kcna.jsonl"} <= ids


async def test_one_comparison_at_a_time() -> None:
    playground = Playground()
    current = Relevance(_rules())
    slow = playground.diff(current, RULES, LABELLED * 200, [])
    task = asyncio.ensure_future(slow)
    await asyncio.sleep(0)
    assert playground.busy
    assert await playground.diff(current, RULES, [], []) is None
    done = await task
    assert done is not None and done.ok
    assert not playground.busy


async def test_the_event_loop_stays_free_during_a_comparison() -> None:
    playground = Playground()
    current = Relevance(load_rules(KEYWORDS))
    task = asyncio.ensure_future(playground.diff(current, KEYWORDS.read_text(), [], []))
    gaps: list[float] = []
    while not task.done():
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        gaps.append(time.perf_counter() - t)
    assert (await task) is not None
    assert len(gaps) > 5 and max(gaps) < 1.0


# -- the playground: text and URLs ----------------------------------------------------------

ARTICLE = b"""<html><head><title>Court</title></head><body><article><h1>Deported</h1>
<p>A court in Vladivostok ordered that a North Korean worker who fled a Russian
construction site be deported to North Korea, where he faces punishment, lawyers said.</p>
<p>Rights groups said the decision breaks the principle of non-refoulement.</p>
</article></body></html>"""


async def test_a_url_is_fetched_through_the_guard(memdb: Database) -> None:
    playground = Playground()
    relevance = Relevance(_rules())
    async with FeedServer() as srv:
        srv.route("/a/1", ARTICLE, content_type="text/html")
        url = srv.url("/a/1")
        refused = await playground.explain_url(relevance, memdb, url)
        assert refused.view is None and "loopback" in refused.error
        assert srv.hits("/a/1") == 0
        trusted = AddressPolicy.trusting("127.0.0.1/32")
        got = await playground.explain_url(relevance, memdb, url, policy=trusted)
        assert got.view is not None and got.item_id is None, got.error
        assert "fetched now" in got.source
        [content] = got.view.fields
        assert content.name == "content" and "Vladivostok" in got.view.item.content
        terms = {p.text.lower() for p in content.pieces if "term" in p.kinds}
        assert terms == {"deported", "worker"}
        with memdb.transaction() as tx:
            stored = insert_item(tx, Item("s", "g", url, "North Korean workers in Russia"), now=1)
        again = await playground.explain_url(relevance, memdb, url, policy=trusted)
        assert again.item_id == stored and again.view is not None
        assert again.view.alerted == ("workers",)
    for bad, why in [("file:///etc/passwd", "only http"), ("http://", "without a host")]:
        out = await playground.explain_url(relevance, memdb, bad)
        assert out.view is None and why in out.error


@pytest.mark.parametrize(
    ("text", "alerted"),
    [
        ("North Korean workers in Russia\nThey toil.", ("workers",)),
        ('{"title": "DPRK deports workers", "summary": ""}', ("returns",)),
        ("<html><title>DPRK deports</title><body><p>x</p></body></html>", ("returns",)),
    ],
)
async def test_pasted_text_html_or_json(text: str, alerted: tuple[str, ...]) -> None:
    view = await Playground().explain(Relevance(_rules()), text)
    assert view.alerted == alerted


@pytest.mark.parametrize(("text", "why"), [("   ", "empty"), ("x" * 200_001, "at most")])
async def test_pasted_text_limits(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        await Playground().explain(Relevance(_rules()), text)


async def test_a_second_comparison_with_the_models_answers_kept_says_the_same(
    tmp_path: Path,
) -> None:
    keywords, path, _ = tiny_model(tmp_path)
    current = Relevance(load_rules(keywords), load_model(path))
    labelled = [
        LabelledItem("t:p", _item(PROMOTED), frozenset({"workers"})),
        LabelledItem("t:h", _item(HELD), frozenset()),
        LabelledItem("t:w", _item("North Korean workers in the summary"), frozenset({"workers"})),
    ]
    edit = keywords.read_text().replace("worker*: 3", "worker*: 2")
    playground = Playground()
    first = await playground.diff(current, edit, labelled, [])
    second = await playground.diff(current, edit, labelled, [])
    assert first is not None and second is not None
    assert [(r.id, r.before, r.after) for r in first.labelled] == [
        (r.id, r.before, r.after) for r in second.labelled
    ]
    other = Relevance(current.rules, load_model(path))  # a reload: another model object
    third = await playground.diff(other, edit, labelled, [])
    assert third is not None and third.labelled == second.labelled


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_any_paste_is_rules_or_problems_with_places(data: bytes | str) -> None:
    try:
        parse_rules(data)
    except ConfigError as exc:
        assert exc.problems
        assert all(str(p).startswith("keywords.yaml (edited)") for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=600))
def test_any_pasted_text_is_explained_or_refused_as_empty(text: str) -> None:
    try:
        view = explain_text(Relevance(_rules()), text)
    except (ConfigError, FetchError) as exc:  # empty; or HTML too complex to parse
        assert str(exc)
        return
    for f in view.fields:
        assert "".join(p.text for p in f.pieces) == view.item.field_text(f.name)[:20_000]
