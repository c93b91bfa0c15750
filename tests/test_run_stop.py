"""Ctrl-C or SIGTERM while a poll waits on a silent server: the real `watcher run` process
stops at once (not after the read timeout), prints no traceback, exits 0, and leaves nothing
half-written: the abandoned poll is recorded neither as a success nor as a failure, and its
source is free for the next start."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers.feedserver import FeedServer
from tests.test_run_once import DATA

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stop_while_a_poll_waits_on_a_silent_server(tmp_path: Path, sig: signal.Signals) -> None:
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    with FeedServer() as srv:
        srv.route("/silent.xml", b"", delay=120)  # reads the request, never answers
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: silent\n    url: {srv.url('/silent.xml')}\n", encoding="utf-8"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        env |= {"PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(tmp_path), "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while srv.in_flight < 1:
                assert proc.poll() is None and time.monotonic() < deadline, "never fetched"
                time.sleep(0.05)
            time.sleep(0.3)  # well inside the fetch
            asked = time.monotonic()
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - asked
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "watcher: stopped" in err
    assert took < 5, f"took {took:.1f} s to stop (the read timeout is 20 s)"
    con = sqlite3.connect(tmp_path / "state" / "watcher.db")
    try:
        row = con.execute(
            "SELECT last_checked_at, consecutive_failures, last_error_kind, lease_owner"
            " FROM sources WHERE id = 'silent'"
        ).fetchone()
    finally:
        con.close()
    assert row == (None, 0, None, None)
