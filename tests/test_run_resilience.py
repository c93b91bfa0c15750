"""`watcher run` outlives failures outside it, and never logs a secret.

The real process (a subprocess, everything on loopback) starts with a bot token the Bot API
rejects: before, the Telegram notifier's failed start ended every service and `watcher run`
exited 0 (so systemd's Restart=on-failure never brought it back), and python-telegram-bot's
InvalidToken message put the token in the log. Now the notifier is restarted with back-off while
the feeds go on being polled, alerts wait in the store, the token never reaches the log, and a
restart with the right token delivers what waited.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.servers.feedserver import FeedServer
from tests.test_run_once import ALERTING, DATA, rss
from tests.test_telegram_run import start, stop, wait_for

GOOD = "123:TEST"
BAD = "999:REVOKED-SECRET-token-xyz"


@pytest.mark.slow
def test_a_rejected_token_neither_stops_the_run_nor_reaches_the_log(tmp_path: Path) -> None:
    with FakeTelegram(GOOD) as tg, FeedServer() as feeds:
        feeds.route("/news.xml", rss([("a1", ALERTING, datetime.now(UTC))]))
        (tmp_path / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: news\n    url: {feeds.url('/news.xml')}\n"
            "    interval: 5s\n    language: en\n"
        )
        env = tmp_path / ".env"
        settings = f"WATCHER_TELEGRAM_API_URL={tg.base_url}\nWATCHER_TELEGRAM_CHANNELS=@alerts\n"
        env.write_text(f"WATCHER_TELEGRAM_TOKEN={BAD}\n{settings}")
        log = tmp_path / "run.log"
        proc = start(tmp_path, log)
        try:
            # the feed is polled again and again while Telegram refuses us
            wait_for(lambda: feeds.hits("/news.xml") >= 3, "three polls", timeout=30)
            assert proc.poll() is None, log.read_text()
        finally:
            stop(proc)
        text = log.read_text()
        assert "restarting" in text, text
        assert BAD not in text and "REVOKED-SECRET" not in text, text
        assert tg.messages("@alerts") == []

        # the right token: the alert that waited in the store reaches the channel, once
        env.write_text(f"WATCHER_TELEGRAM_TOKEN={GOOD}\n{settings}")
        proc = start(tmp_path, log)
        try:
            wait_for(lambda: len(tg.messages("@alerts")) == 1, "the waiting alert sent")
            time.sleep(1.0)
        finally:
            stop(proc)
        (sent,) = tg.messages("@alerts")
        assert "Shenyang" in str(sent["text"])


def test_a_taken_http_port_stops_the_run_with_exit_2(tmp_path: Path) -> None:
    """A configuration error found while running does not heal by restarting the part: the run
    stops, says why, and exits 2 (before, it exited 0 and a supervisor took it for a stop)."""
    (tmp_path / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
    (tmp_path / "feeds.yaml").write_text("sources: []\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        env |= {"WATCHER_HTTP_PORT": str(port), "PYTHONPATH": str(Path(__file__).parent.parent)}
        done = subprocess.run(
            [sys.executable, "-m", "watcher", "--config", str(tmp_path), "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
