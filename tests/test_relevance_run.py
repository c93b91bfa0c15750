"""The relevance model inside `watcher run`: a possible match is sent and marked, a rule hit the
model holds back is stored and not sent, both decisions are in the store; a broken model file
means rules only, said at start; a model written beside keywords.yaml is picked up on reload."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.relevance_helpers import HELD, PLAIN, PROMOTED, tiny_model
from tests.servers.feedserver import FeedServer
from tests.test_run_once import rss
from watcher.cli import main
from watcher.config.live import LiveConfig
from watcher.models import Alert, Match
from watcher.notify.console import format_alert as console_format
from watcher.notify.telegram.format import MAX_LENGTH, Reader, format_alert
from watcher.relevance import MODEL_FILE
from watcher.store import alerts as alerts_store
from watcher.store import items as items_store
from watcher.store.db import Database
from watcher.store.relevance import decisions, record_decision


def _config(tmp: Path, server: FeedServer) -> Path:
    tiny_model(tmp)
    now = datetime.now(UTC)
    server.route("/f.xml", rss([("1", PROMOTED, now), ("2", HELD, now), ("3", PLAIN, now)]))
    (tmp / "feeds.yaml").write_text(f"sources:\n  - id: f\n    url: {server.url('/f.xml')}\n")
    return tmp


def _rows(cfg: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(cfg / "state" / "watcher.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(autouse=True)
def _one_alert_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three test items are alike: story grouping would make them one alert."""
    monkeypatch.setenv("WATCHER_STORIES", "false")


def test_possible_match_sent_and_rule_hit_held_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        cfg = _config(tmp_path, server)
        assert main(["--config", str(cfg), "run", "--once"]) == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "relevance model" in out and str(cfg / MODEL_FILE) in out.replace("\n", "")
    assert out.count("ALERT") == 2
    assert "possible match" in out and "loggers" in out
    assert "parade" not in captured.out  # held back: not sent
    alerts = _rows(cfg, "SELECT title, model_note FROM alerts ORDER BY id")
    assert [a[0] for a in alerts] == [PROMOTED, PLAIN]
    assert str(alerts[0][1]).startswith("possible match: workers (model 0.")
    assert alerts[1][1] == ""
    rows = _rows(
        cfg,
        "SELECT d.decision, d.topics, d.alert_id IS NOT NULL, i.title, d.model_scores"
        " FROM model_decisions d JOIN items i ON i.id = d.item_id ORDER BY d.id",
    )
    assert [(r[0], json.loads(str(r[1])), r[2], r[3]) for r in rows] == [
        ("possible", ["workers"], 1, PROMOTED),
        ("held", ["workers"], 0, HELD),
    ]
    assert 0.0 < json.loads(str(rows[1][4]))["workers"] < 0.1


def test_a_broken_model_file_runs_on_the_rules_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        cfg = _config(tmp_path, server)
        (cfg / MODEL_FILE).write_bytes(b"PK\x03\x04 not really a zip")
        assert main(["--config", str(cfg), "run", "--once"]) == 0
    captured = capsys.readouterr()
    out = " ".join((captured.out + captured.err).split())
    assert "not a readable model file" in out and "rules only" in out
    assert "Traceback" not in out
    titles = [r[0] for r in _rows(cfg, "SELECT title FROM alerts ORDER BY id")]
    assert titles == [HELD, PLAIN]  # what the rules alone send
    assert _rows(cfg, "SELECT COUNT(*) FROM model_decisions") == [(0,)]


def test_a_model_written_beside_keywords_is_picked_up_on_reload(tmp_path: Path) -> None:
    keywords, model, _ = tiny_model(tmp_path)
    kept = model.read_bytes()
    model.unlink()
    (tmp_path / "feeds.yaml").write_text("sources: []\n")
    config = LiveConfig.load(tmp_path / "feeds.yaml", keywords)
    # the shipped model knows other topics than this keywords.yaml: rules only, and why
    assert config.scorer().model is None and "the model knows topics" in config.scorer().note
    assert config.check().status == "unchanged"
    model.write_bytes(kept)
    assert config.check().status == "reloaded"  # the reload timer sees the new file
    assert config.scorer().model is not None and config.scorer().model.topics == ("workers",)
    off = LiveConfig.load(tmp_path / "feeds.yaml", keywords, "off")
    assert off.scorer().model is None and "off" in off.scorer().note


def _alert(note: str) -> Alert:
    now = datetime.now(UTC)
    match = Match("worker*", "workers", "title", 0, 7, 6.0, "workers toil", "term")
    return Alert(
        id=1,
        item_id=1,
        source_id="s",
        source_name="Source",
        title="North Korean loggers <toil>",
        url="https://example.org/1",
        published=now,
        topics=("workers",),
        score=3.0,
        matches=(match,),
        created_at=now,
        model_note=note,
    )


@pytest.mark.parametrize("size", [10, 600, 20_000])
def test_messages_mark_a_possible_match(size: int) -> None:
    note = "possible match: workers (model 0.95); like “a <b> & c” " + "x" * size
    html = format_alert(_alert(note))  # a reader: the mark and why, in plain words
    assert len(html) <= MAX_LENGTH
    assert "❔ <b>Possible match</b>: the words alone were not enough" in html
    assert "earlier alerts on workers" in html and "0.95" not in html
    admin = format_alert(_alert(note), Reader(details=True))  # and the note for admins
    assert len(admin) <= MAX_LENGTH and "model: possible match: workers (model 0.95)" in admin
    assert "&lt;b&gt; &amp; c" in admin and admin.count("<i>") == admin.count("</i>")
    assert "Possible match" not in format_alert(_alert(""))
    assert "possible match" in console_format(_alert(note))
    assert "possible match" not in console_format(_alert(""))


def test_decisions_and_notes_in_the_store(store_db: Database) -> None:
    from watcher.models import Item

    with store_db.transaction() as tx:
        item_id = items_store.insert_item(tx, Item("s", "g", "https://x/1", "t"), now=1.0)
        assert item_id is not None
        alert = alerts_store.insert_alert(
            tx,
            dedupe_key="k",
            item_id=item_id,
            source_id="s",
            source_name="S",
            title="t",
            url="https://x/1",
            summary="",
            language="en",
            published=datetime.now(UTC),
            topics=["workers"],
            score=3.0,
            matches=[],
            now=2.0,
            model_note="possible match: workers (model 0.91)",
        )
        assert alert is not None and alert.model_note.startswith("possible match")
        record_decision(
            tx,
            item_id=item_id,
            alert_id=alert.id,
            decision="possible",
            topics=["workers"],
            model_scores={"workers": 0.912345},
            note="why",
            model_id="abc",
            now=2.0,
        )
    got = decisions(store_db)
    assert len(got) == 1 and got[0].model_scores == {"workers": 0.9123}
    assert got[0].alert_id == alert.id and got[0].decision == "possible"
    assert alerts_store.get_alerts(store_db, [alert.id])[alert.id].model_note == alert.model_note
    assert items_store.prune_items(store_db, older_than=10.0) == 1
    assert decisions(store_db) == []  # kept as long as its item
