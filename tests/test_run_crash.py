"""`watcher run` killed with SIGKILL at random moments: no alert lost, none recorded twice.

The feeds gain alerting items between and during runs; after the kills a final clean run
delivers what is left. Every alerting item must have exactly one alert row and one console
outbox row, sent; a print can repeat only when a kill fell between printing and marking sent.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.feedserver import FeedServer
from tests.test_run_once import ALERTING, DATA, rss

SOURCES = 4
ROOT = Path(__file__).parent.parent


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def publish(server: FeedServer, upto: int) -> list[str]:
    """Each source lists its first ``upto`` items; return all titles."""
    titles = []
    now = datetime.now(UTC)
    for s in range(SOURCES):
        entries = []
        for i in range(upto):
            title = f"{ALERTING} case {s}-{i}"
            titles.append(title)
            entries.append((f"s{s}-i{i}", title, now))
        server.route(f"/f{s}.xml", rss(entries[::-1]))
    return titles


def start(cfg: Path, out: Path) -> subprocess.Popen[bytes]:
    # the items are near-identical on purpose: story grouping would (rightly) merge them
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WATCHER_STORIES": "false"}
    env["WATCHER_ALERTS_PER_POLL"] = "1000"  # one message per alert: they are counted
    with out.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(cfg), "run"],
            stdout=fh,
            stderr=subprocess.DEVNULL,
            env=env,
        )


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, server: FeedServer
) -> None:
    rng = random.Random(1234)
    (tmp_path / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
    lines = ["defaults:", "  interval: 5s", "sources:"]
    for s in range(SOURCES):
        lines += [f"  - id: f{s}", f"    url: {server.url(f'/f{s}.xml')}"]
    (tmp_path / "feeds.yaml").write_text("\n".join(lines) + "\n")
    out = tmp_path / "printed.txt"
    titles: list[str] = []
    kills = 0
    for round_ in range(1, 5):
        titles = publish(server, round_ * 3)
        proc = start(tmp_path, out)
        time.sleep(rng.uniform(0.8, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        # restart at once next round: sources polled before the kill are not due yet,
        # so wipe their schedule so the next process polls at once
        if not (tmp_path / "state" / "watcher.db").exists():
            continue  # killed while starting (a loaded machine): nothing was polled yet
        con = sqlite3.connect(tmp_path / "state" / "watcher.db", timeout=10)
        with con:
            con.execute("UPDATE sources SET next_check_at = NULL")
        con.close()
    started_before = out.read_text().count("state: ") if out.exists() else 0
    proc = start(tmp_path, out)
    deadline = time.time() + 60
    db = tmp_path / "state" / "watcher.db"
    try:
        while time.time() < deadline:
            if not db.exists():  # still starting (a loaded machine)
                time.sleep(0.3)
                continue
            con = sqlite3.connect(db, timeout=10)
            sent = con.execute(
                "SELECT COUNT(*) FROM outbox WHERE channel='console' AND status='sent'"
            ).fetchone()[0]
            con.close()
            if sent >= len(titles):
                break
            time.sleep(0.3)
    finally:
        # past start-up (the summary is printed once its signal handlers are in place): a
        # clean SIGTERM
        while time.time() < deadline and out.read_text().count("state: ") <= started_before:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    con = sqlite3.connect(tmp_path / "state" / "watcher.db")
    alert_titles = [r[0] for r in con.execute("SELECT title FROM alerts")]
    outbox = con.execute("SELECT alert_id, status FROM outbox WHERE channel = 'console'").fetchall()
    con.close()
    assert sorted(alert_titles) == sorted(titles)  # none lost, none recorded twice
    assert len(outbox) == len(titles) and {s for _, s in outbox} == {"sent"}
    printed = [ln for ln in out.read_text().splitlines() if ln.strip().startswith(ALERTING)]
    printed_titles = [ln.strip() for ln in printed]
    assert set(printed_titles) == set(titles)
    assert len(printed_titles) - len(titles) <= kills  # a repeat needs a kill mid-print
