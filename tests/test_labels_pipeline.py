"""`watcher run` records near misses with the poll: items whose required entities are there
and that scored at least half a topic's threshold without alerting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.feedserver import FeedServer
from tests.test_run_once import rss
from watcher.cli import main
from watcher.store import open_database
from watcher.store.labels import BELOW_THRESHOLD, near_misses

KEYWORDS = """\
entities:
  nk:
    aliases: [North Korea*]
topics:
  - id: workers
    title: Workers abroad
    threshold: 10
    require: {all_of: [nk]}
    terms: {worker*: 3, camp*: 4}
"""

# (title, what it is): a match in the title counts twice
ITEMS = [
    ("North Korean workers toil in Siberian camps", "alert"),  # (3 + 4) * 2 = 14
    ("North Korean workers toil in Siberia", "near miss"),  # 3 * 2 = 6 of 10
    ("Workers toil in Spanish camps", "quiet"),  # no North Korea
    ("North Korea holds a parade", "quiet"),  # nothing scored
]


def test_a_poll_records_its_near_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_STORIES", "false")
    monkeypatch.setenv("WATCHER_MODEL", "off")
    (tmp_path / "keywords.yaml").write_text(KEYWORDS, encoding="utf-8")
    now = datetime.now(UTC)
    with FeedServer() as server:
        server.route("/f.xml", rss([(str(i), t, now) for i, (t, _) in enumerate(ITEMS)]))
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: f\n    url: {server.url('/f.xml')}\n"
        )
        assert main(["--config", str(tmp_path), "run", "--once"]) == 0
    db = open_database(tmp_path / "state" / "watcher.db")
    try:
        listed = near_misses(db)
        with db.transaction() as tx:
            stored = tx.scalar("SELECT COUNT(*) FROM items")
    finally:
        db.close()
    expected = [t for t, kind in ITEMS if kind == "near miss"]
    assert [n.title for n in listed] == expected
    (miss,) = listed
    assert (miss.reason, miss.topics, miss.scores, miss.thresholds, miss.source_id) == (
        BELOW_THRESHOLD,
        ("workers",),
        {"workers": 6.0},
        {"workers": 10.0},
        "f",
    )
    assert stored == len(ITEMS)  # the near miss is stored once, with the others
