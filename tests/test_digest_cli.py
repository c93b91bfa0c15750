"""`watcher digest` as a user runs it, and a sender killed between record and send."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.smtp import SmtpServer
from watcher.cli import main
from watcher.models import Match
from watcher.store import digests as store
from watcher.store.alerts import insert_alert
from watcher.store.db import open_database

KEYWORDS = """\
topics:
  - id: repatriation
    title: Forced repatriation
    threshold: 1
    terms: {defector: 1}
  - id: labour
    title: Forced labour
    threshold: 1
    terms: {workers: 1}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "keywords.yaml").write_text(KEYWORDS, encoding="utf-8")
    return tmp_path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "--db", str(config / "w.db"), "digest", *args])


def add_alert(db_path: Path, key: str) -> int:
    db = open_database(db_path)
    snippet = "A defector was detained."
    try:
        with db.transaction() as tx:
            a = insert_alert(
                tx,
                dedupe_key=key,
                item_id=None,
                source_id="s",
                source_name="Yonhap",
                title=f"Title {key}",
                url=f"https://news.example/{key}",
                summary=snippet,
                language="en",
                published=datetime.now(UTC),
                topics=["repatriation"],
                score=3.0,
                matches=[Match("defector", "defector", "summary", 2, 10, 1.0, snippet)],
                now=time.time(),
            )
        assert a is not None
        return a.id
    finally:
        db.close()


def test_subscribe_validates_address_topics_time_and_zone(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "subscribe", "not-an-address") == 2
    assert "not a valid email address" in capsys.readouterr().err
    assert run(config, "subscribe", "a@example.org", "--topics", "repatriation,nope") == 2
    err = capsys.readouterr().err
    assert "unknown topic(s) nope" in err and "repatriation, labour" in err
    assert run(config, "subscribe", "a@example.org", "--at", "25:00") == 2
    assert run(config, "subscribe", "a@example.org", "--tz", "Mars/Olympus") == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run(config, "subscribe", "a@example.org", "--lang", "de")
    assert "invalid choice: 'de'" in capsys.readouterr().err
    args = ["A@Example.org", "--topics", "labour", "--tz", "Asia/Seoul", "--lang", "ko"]
    assert run(config, "subscribe", *args) == 0
    assert "daily at 08:00 Asia/Seoul, topics: labour, language: ko" in capsys.readouterr().out
    assert run(config, "list") == 0
    assert "A@example.org" in capsys.readouterr().out  # domain normalised
    assert run(config, "unsubscribe", "A@example.org") == 0
    assert run(config, "unsubscribe", "A@example.org") == 1
    db = open_database(config / "w.db")
    try:
        assert store.recipients(db) == []
    finally:
        db.close()


def test_preview_writes_html(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(config, "list")  # creates the store
    add_alert(config / "w.db", "p1")
    out = config / "preview.html"
    assert run(config, "preview", "--out", str(out)) == 0
    html = out.read_text(encoding="utf-8")
    assert "Forced repatriation" in html and ">defector</b>" in html
    assert "1 new alert" in capsys.readouterr().out


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (the sender blocks there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_sender_killed_between_record_and_send_then_rerun_delivers_exactly_one(
    config: Path, hanging_port: int
) -> None:
    assert run(config, "subscribe", "a@example.org", "--tz", "UTC") == 0
    aid = add_alert(config / "w.db", "k1")
    env = {
        **os.environ,
        "WATCHER_SMTP_HOST": "127.0.0.1",
        "WATCHER_SMTP_PORT": str(hanging_port),
        "WATCHER_SMTP_TLS": "none",
        "WATCHER_SMTP_FROM": "watcher@alerts.test",
    }
    cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--db",
           str(config / "w.db"), "digest", "send", "--now"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        recorded: list[store.Digest] = []
        while time.monotonic() < deadline and not recorded:
            time.sleep(0.05)
            db = open_database(config / "w.db")
            try:
                recorded = store.digests_for(db)
            finally:
                db.close()
        assert recorded, "the sender never recorded its digest"
        time.sleep(0.3)  # it is now blocked in the SMTP greeting
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    (pending,) = recorded
    assert pending.status == store.PENDING and pending.alert_ids == (aid,)

    with SmtpServer() as srv:
        env["WATCHER_SMTP_PORT"] = str(srv.port)
        for _ in range(2):  # the rerun, and one more: still exactly one message
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        assert len(srv.messages) == 1
        (msg,) = srv.messages
        assert msg["Message-ID"] == pending.message_id
        assert "Title k1" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    db = open_database(config / "w.db")
    try:
        statuses = [d.status for d in store.digests_for(db)]
    finally:
        db.close()
    assert statuses.count(store.DELIVERED) == 1 and store.PENDING not in statuses
