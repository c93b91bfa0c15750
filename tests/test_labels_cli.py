"""`watcher labels export|stats` and `watcher model train --labels`: votes become a corpus
that `rules test --corpus` and `model train` read, and figures a maintainer can act on."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.relevance_helpers import tiny_model, write_corpus
from watcher.cli import main
from watcher.labels import MIN_SIGNALS, decide, export, stats, vote_topics
from watcher.models import Item
from watcher.relevance import MODEL_FILE, load_model
from watcher.store import open_database
from watcher.store.alerts import insert_alert
from watcher.store.db import Database
from watcher.store.items import insert_item
from watcher.store.labels import Vote, VotedItem, record_vote

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0

# (guid, title, alerted topics, votes as (voter, role, verdict, topic))
STORE = [
    (
        "deport",
        "China deports 20 North Korean defectors arrested in Shenyang",
        ("repatriation",),
        [("tg:1", "admin", "relevant", None), ("tg:7", "user", "relevant", None)],
    ),
    (
        "loggers",
        "North Korean loggers toil in Siberian camps",
        ("repatriation",),
        [("tg:1", "admin", "wrong_topic", "forced_labor"), ("tg:7", "user", "not_relevant", None)],
    ),
    (
        "profits",
        "Repatriation of profits from China rises",
        ("repatriation",),
        [("web:ann", "admin", "not_relevant", None), ("tg:8", "user", "not_relevant", None)],
    ),
    (
        "pows",
        "Two North Korean soldiers captured in Kursk",
        (),
        [("tg:1", "admin", "should_alert", "soldiers_pows")],
    ),
    (
        "signals",
        "North Korean workers sent to Russian building sites",
        ("forced_labor",),
        [("tg:7", "user", "relevant", None), ("tg:8", "user", "relevant", None)],
    ),
]


def _config(tmp: Path) -> Path:
    shutil.copy(ROOT / "keywords.yaml", tmp / "keywords.yaml")
    db = open_database(tmp / "state" / "watcher.db")
    try:
        _fill(db)
    finally:
        db.close()
    return tmp


def _fill(db: Database) -> None:
    for guid, title, topics, votes in STORE:
        with db.transaction() as tx:
            item = Item(
                source_id="src",
                guid=guid,
                url=f"https://e.org/{guid}",
                title=title,
                summary=title + ".",
                published=datetime(2026, 11, 2, 8, tzinfo=UTC),
                language="en",
            )
            item_id = insert_item(tx, item, now=T0)
            assert item_id is not None
            alert = None
            if topics:
                alert = insert_alert(
                    tx,
                    dedupe_key=item.url,
                    item_id=item_id,
                    source_id="src",
                    source_name="Src",
                    title=title,
                    url=item.url,
                    summary="",
                    language="en",
                    published=datetime(2026, 11, 2, 8, tzinfo=UTC),
                    topics=topics,
                    score=5.0,
                    matches=[],
                    now=T0,
                )
        for voter, role, verdict, topic in votes:
            record_vote(
                db,
                voter=voter,
                role=role,
                channel="web" if voter.startswith("web:") else "telegram",
                item_id=item_id,
                alert_id=alert.id if alert is not None else None,
                verdict=verdict,
                topic=topic,
                now=T0,
            )


def _lines(path: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {str(r["url"]).rsplit("/", 1)[1]: r for r in rows}


def test_export_writes_admins_labels_that_rules_test_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "labels.jsonl"
    assert main(["--config", str(cfg), "labels", "export", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"4 labelled items -> {out} (admins)" in said
    assert "left out: 1 (signals only)" in said and "--include-signals" in said
    lines = _lines(out)
    assert {k: v["labels"] for k, v in lines.items()} == {
        "deport": ["repatriation"],
        "loggers": ["forced_labor"],
        "profits": [],
        "pows": ["soldiers_pows"],
    }
    deport = lines["deport"]
    assert (deport["lang"], deport["source"], deport["published"]) == (
        "en",
        "src",
        "2026-11-02T08:00:00Z",
    )
    assert deport["title"] == STORE[0][1] and deport["labelled_by"] == "admins"

    assert main(["--config", str(cfg), "rules", "test", "--corpus", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(i["id"] for i in report["items"]) == sorted(str(v["id"]) for v in lines.values())


def test_export_with_signals_adds_what_most_users_agree_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "labels.jsonl"
    args = ["--config", str(cfg), "labels", "export", "--out", str(out), "--include-signals"]
    assert main(args) == 0
    assert "5 labelled items" in capsys.readouterr().out
    signals = _lines(out)["signals"]
    assert (signals["labels"], signals["labelled_by"]) == (["forced_labor"], "signals")


def _vote(voter: str, role: str, verdict: str, topic: str | None = None) -> Vote:
    return Vote(0, voter, role, "telegram", 1, None, verdict, topic, T0, T0)


def _voted(votes: list[Vote], alerted: tuple[str, ...] = ("repatriation",)) -> VotedItem:
    return VotedItem(1, "s", "u", "t", "", "en", None, alerted, None, tuple(votes))


A1, A2, A3 = ("tg:1", "admin"), ("tg:2", "admin"), ("tg:3", "admin")
U1, U2, U3 = ("tg:11", "user"), ("tg:12", "user"), ("tg:13", "user")
DECISIONS = [
    # (votes, alerted, with signals, labels or None, by)
    ([(*A1, "relevant")], ("repatriation",), False, {"repatriation"}, "admins"),
    ([(*A1, "relevant")], (), False, None, "no topic known"),
    ([(*A1, "relevant", "forced_labor")], (), False, {"forced_labor"}, "admins"),
    ([(*A1, "right_to_skip")], (), False, set(), "admins"),
    ([(*A1, "relevant"), (*A2, "not_relevant")], ("repatriation",), False, None, "admins disagree"),
    (
        [(*A1, "relevant"), (*A2, "not_relevant"), (*A3, "not_relevant")],
        ("repatriation",),
        False,
        set(),
        "admins",
    ),
    ([(*A1, "not_relevant"), (*U1, "relevant"), (*U2, "relevant")], ("x",), True, set(), "admins"),
    ([(*U1, "relevant"), (*U2, "relevant")], ("repatriation",), False, None, "signals only"),
    ([(*U1, "relevant"), (*U2, "relevant")], ("repatriation",), True, {"repatriation"}, "signals"),
    ([(*U1, "relevant")], ("repatriation",), True, None, "signals undecided"),
    (
        [(*U1, "relevant"), (*U2, "not_relevant"), (*U3, "not_relevant")],
        ("repatriation",),
        True,
        set(),
        "signals",
    ),
    ([(*U1, "relevant"), (*U2, "not_relevant")], ("x",), True, None, "signals undecided"),
]


@pytest.mark.parametrize(("votes", "alerted", "signals", "labels", "by"), DECISIONS)
def test_an_items_labels_from_its_votes(
    votes: list[tuple[str, ...]],
    alerted: tuple[str, ...],
    signals: bool,
    labels: set[str] | None,
    by: str,
) -> None:
    item = _voted([_vote(*v) for v in votes], alerted)
    decision = decide(item, include_signals=signals)
    assert (decision.labels, decision.by) == (
        frozenset(labels) if labels is not None else None,
        by,
    )
    assert MIN_SIGNALS == 2


def test_labels_naming_a_removed_topic_leave_the_item_out() -> None:
    item = _voted([_vote(*A1, "wrong_topic", "old_topic")])
    done = export([item], ["repatriation"])
    assert done.lines == [] and dict(done.left_out) == {"topic not in keywords.yaml": 1}
    assert vote_topics(_vote(*A1, "wrong_topic", "old_topic"), ()) == {"old_topic"}


def test_stats_show_counts_agreement_and_the_topics_most_often_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    assert main(["--config", str(cfg), "labels", "stats"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "9 votes on 5 items: relevant 4, not_relevant 3, wrong_topic 1, should_alert 1"
    )
    assert out[1] == "by role: admin 4, user 5; by channel: telegram 8, web 1"
    # deport and profits agree, loggers does not, signals agree: 3 of 4
    assert out[2] == (
        "agreement: 3 of 4 items with several voters are unanimous; 3 of 4 voter pairs agree (75%)"
    )
    assert out[3:] == [
        "topics most often wrong (votes saying an alert's topic was wrong):",
        "  repatriation: 4 of 6 votes",
        "topics said to be missed (should have alerted, or the right topic):",
        "  forced_labor: 1",
        "  soldiers_pows: 1",
    ]
    assert main(["--config", str(cfg), "labels", "stats", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["wrong_by_topic"] == {"repatriation": [4, 6], "forced_labor": [0, 2]}
    assert figures["agreement"]["voter_pairs"] == 4


def test_stats_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stats([]).votes == 0
    shutil.copy(ROOT / "keywords.yaml", tmp_path / "keywords.yaml")
    assert main(["--config", str(tmp_path), "labels", "stats"]) == 0
    assert "no votes yet" in capsys.readouterr().out


def test_model_train_with_the_stores_labels_and_never_without_any(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_model(tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    corpus = write_corpus(tmp_path / "c.jsonl")
    args = ["--config", str(tmp_path), "model", "train", "--corpus", str(corpus), "--no-cv"]
    assert main([*args, "--labels"]) == 2
    assert "the store holds no labels yet" in capsys.readouterr().err
    assert not (tmp_path / MODEL_FILE).exists()

    db = open_database(tmp_path / "state" / "watcher.db")
    try:
        with db.transaction() as tx:
            item = Item(source_id="s", guid="g", url="https://e.org/g", title="Loggers abroad")
            item_id = insert_item(tx, item, now=T0)
        assert item_id is not None
        record_vote(
            db,
            voter="tg:1",
            role="admin",
            channel="telegram",
            item_id=item_id,
            verdict="should_alert",
            topic="workers",
            now=T0,
        )
    finally:
        db.close()
    extra = tmp_path / "more.jsonl"
    extra.write_text(json.dumps({"id": "x1", "title": "Loggers", "labels": ["workers"]}) + "\n")
    assert main([*args, "--labels", "--labels", str(extra)]) == 0
    out = capsys.readouterr().out
    assert "labels from the store: 1 items" in out
    assert "training on 3 corpora, 18 items (c.jsonl 16, more.jsonl 1, store-labels.jsonl 1)" in out
    assert len(load_model(tmp_path / MODEL_FILE).examples) == 18
