"""The real `watcher run` with Telegram on, end to end (a subprocess, everything on loopback).

Settings come from a `.env` file in the config folder; the Bot API is the fake one, the feeds
are served over HTTP with a 5 s interval. A user subscribes with /start through getUpdates, an
item appears in a feed, the alert reaches that chat (and the channel whose topics match) exactly
once; admins get one notice each for a source failing for 24 h, its recovery and an invalid
edited configuration; /status and /reload work from the admin's chat, and are refused to
others. SIGTERM, restart: nothing is sent twice, and what appears after the restart arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.servers.feedserver import FeedServer
from tests.test_run_once import ALERTING, DATA, QUIET, rss
from watcher.store.db import open_database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"
USER = 42
ADMIN = 900
SECOND = "Russia deports North Korean workers who fled a construction site in Vladivostok"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def texts(tg: FakeTelegram, chat: int | str) -> list[str]:
    return [str(m["text"]) for m in tg.messages(chat)]


def count(tg: FakeTelegram, chat: int | str, needle: str) -> int:
    return sum(needle in t for t in texts(tg, chat))


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env["PYTHONPATH"] = str(ROOT)
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(cfg), "run"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@pytest.mark.slow
def test_watcher_run_delivers_to_telegram_once_across_a_restart(
    tmp_path: Path, tg: FakeTelegram, feeds: FeedServer
) -> None:
    now = datetime.now(UTC)
    keywords = (DATA / "keywords.yaml").read_text()
    (tmp_path / "keywords.yaml").write_text(keywords)
    (tmp_path / "feeds.yaml").write_text(
        "defaults:\n  interval: 5s\n  language: en\nsources:\n"
        f"  - id: news\n    url: {feeds.url('/news.xml')}\n"
        f"  - id: broken\n    url: {feeds.url('/broken.xml')}\n"
    )
    (tmp_path / ".env").write_text(
        f"WATCHER_TELEGRAM_TOKEN={TOKEN}\n"
        f"WATCHER_TELEGRAM_API_URL={tg.base_url}\n"
        f"WATCHER_TELEGRAM_ADMINS={ADMIN}\n"
        'WATCHER_TELEGRAM_CHANNELS="@alerts:repatriation+soldiers_pows, @labour:forced_labor"\n'
    )
    feeds.route("/news.xml", rss([("q1", QUIET, now)]))
    feeds.route("/broken.xml", status=500)
    # "broken" last worked 25 hours ago: its next failure is the one admins hear about
    db = open_database(tmp_path / "state" / "watcher.db")
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO sources (id, url, last_success_at, consecutive_failures)"
            " VALUES (?, ?, ?, ?)",
            ("broken", feeds.url("/broken.xml"), time.time() - 25 * 3600, 0),
        )
    db.close()
    log = tmp_path / "run.log"

    proc = start(tmp_path, log)
    try:
        wait_for(lambda: bool(tg.calls_of("getUpdates")), "polling for updates")
        assert [c["command"] for c in tg.commands][:2] == ["start", "stop"]
        tg.send_user_message(USER, "/start")
        wait_for(lambda: count(tg, USER, "Subscribed") == 1, "the /start reply")

        wait_for(lambda: count(tg, ADMIN, "Source failing") == 1, "the failing notice")
        feeds.route("/broken.xml", rss([("b1", QUIET, now)]))  # it works again
        feeds.route("/news.xml", rss([("a1", ALERTING, now), ("q1", QUIET, now)]))
        wait_for(lambda: count(tg, USER, "Shenyang") == 1, "the alert in the user's chat")
        wait_for(lambda: count(tg, "@alerts", "Shenyang") == 1, "the alert in @alerts")

        (tmp_path / "keywords.yaml").write_text(keywords + "\ntopics: [oops\n")
        wait_for(lambda: count(tg, ADMIN, "Configuration invalid") == 1, "the invalid notice")
        (tmp_path / "keywords.yaml").write_text(keywords)
        wait_for(lambda: count(tg, ADMIN, "Configuration reloaded") == 1, "the reload notice")
        wait_for(lambda: count(tg, ADMIN, "Source recovered") == 1, "the recovery notice")

        tg.send_user_message(ADMIN, "/status")
        wait_for(lambda: count(tg, ADMIN, "Subscribers: 1") == 1, "the /status reply")
        status = next(t for t in texts(tg, ADMIN) if "Subscribers: 1" in t)
        assert "Sources: 2 enabled: 2 ok, 0 failing" in status
        tg.send_user_message(ADMIN, "/reload")
        wait_for(lambda: count(tg, ADMIN, "configuration reloaded: 2 sources") == 1, "/reload")
        tg.send_user_message(USER, "/status")
        wait_for(lambda: count(tg, USER, "only the bot's administrators") == 1, "a refusal")
    finally:
        stop(proc)

    calls_before = len(tg.calls_of("getUpdates"))
    feeds.route("/news.xml", rss([("a2", SECOND, now), ("a1", ALERTING, now), ("q1", QUIET, now)]))
    proc = start(tmp_path, log)
    try:
        wait_for(lambda: len(tg.calls_of("getUpdates")) > calls_before, "polling again")
        wait_for(lambda: count(tg, USER, "Vladivostok") == 1, "the second alert")
        wait_for(lambda: count(tg, "@labour", "Vladivostok") == 1, "the second alert in @labour")
        wait_for(lambda: count(tg, "@alerts", "Vladivostok") == 1, "the second alert in @alerts")
    finally:
        stop(proc)

    output = " ".join(log.read_text().split())  # the summary is wrapped to the terminal
    assert (
        "alerts go to: Telegram (0 subscribers; channels: @alerts:repatriation+soldiers_pows"
        in (output)
    )
    assert "alerts go to: Telegram (1 subscribers" in output  # the second start
    # exactly once each, across the restart
    assert count(tg, USER, "Shenyang") == 1 and count(tg, USER, "Vladivostok") == 1
    assert count(tg, "@alerts", "Shenyang") == 1 and count(tg, "@alerts", "Vladivostok") == 1
    assert texts(tg, "@labour") == [t for t in texts(tg, "@labour") if "Vladivostok" in t]
    assert len(texts(tg, "@labour")) == 1
    # topics by their keywords.yaml titles, through the notifier watcher run builds
    labour = texts(tg, "@labour")[0]
    assert "North Korean workers abroad and forced labour" in labour
    assert "forced_labor" not in labour
    assert labour.count("construction site") == 1  # a summary that repeats the title is not shown
    assert count(tg, USER, "Subscribed") == 1  # the /start update was not handled twice
    for notice in ("Source failing", "Source recovered", "Configuration invalid"):
        assert count(tg, ADMIN, notice) == 1, notice
    db = open_database(tmp_path / "state" / "watcher.db")
    with db.transaction() as tx:
        rows = tx.fetchall("SELECT target, status FROM outbox WHERE channel = 'telegram'")
        console = tx.scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'console'")
    db.close()
    assert sorted((str(t), str(s)) for t, s in rows) == sorted(
        [("42", "sent"), ("@alerts", "sent")] * 2 + [("@labour", "sent")]
    )
    assert console == 0  # Telegram replaces the console
