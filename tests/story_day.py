"""One day of news through ``watcher run --once``: how many alerts per development.

Labelled reports (each with the id of the development it reports) are given publication
times spread over the last 24 hours and spread over a few feeds, mixed languages in each
feed, served by the loopback feed server; the day is replayed in waves: at each wave every
feed lists the reports published by then, and ``watcher run --once`` polls them all with the
project's rules (``keywords.yaml``, whatever it says today) and the default settings.

Then, from the store: the developments the rules let through (their reports were placed in
stories), the alerts, and per development how many alerted (1 is right; 0 is a development
*swallowed* by another one's story; more are repeats). Used by ``bench/eval_story_day.py``
(the whole shared set) and ``tests/test_story_day.py`` (a slice).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import shutil
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from tests.servers.feedserver import FeedServer
from watcher.cli import main

ROOT = Path(__file__).resolve().parent.parent
STORIES = ROOT / "tests" / "data" / "stories"


@dataclass(frozen=True)
class Report:
    id: str
    development: str
    lang: str
    title: str
    summary: str
    url: str
    source: str


@dataclass
class DayResult:
    developments: set[str] = field(default_factory=set)  # with a report the rules let through
    alerts: Counter[str] = field(default_factory=Counter)  # development -> alerts
    reports: int = 0  # reports the rules let through
    waves: int = 0
    mixed: list[list[str]] = field(default_factory=list)  # stories of several developments

    @property
    def alert_count(self) -> int:
        return sum(self.alerts.values())

    @property
    def per_development(self) -> float:
        return self.alert_count / len(self.developments) if self.developments else 0.0

    @property
    def swallowed(self) -> list[str]:
        return sorted(d for d in self.developments if self.alerts[d] == 0)

    @property
    def repeated(self) -> dict[str, int]:
        return {d: n for d, n in sorted(self.alerts.items()) if n > 1}


def real_reports() -> list[Report]:
    """The shared set of real reports (``real.jsonl``) with their developments."""
    stories = {
        r["id"]: r["story"]
        for r in map(json.loads, (STORIES / "real-stories.jsonl").read_text("utf-8").splitlines())
    }
    rows = map(json.loads, (STORIES / "real.jsonl").read_text("utf-8").splitlines())
    return [_report(r, stories[r["id"]]) for r in rows]


def labelled_reports() -> list[Report]:
    """The invented labelled set (``labelled.jsonl``)."""
    rows = map(json.loads, (STORIES / "labelled.jsonl").read_text("utf-8").splitlines())
    return [_report(r, r["story_id"]) for r in rows]


def _report(row: dict[str, Any], development: str) -> Report:
    return Report(
        row["id"], development, row["lang"], row["title"], row.get("summary", ""),
        row.get("url") or f"https://example.org/{row['id']}", row.get("source", ""),
    )  # fmt: skip


def schedule(
    reports: Sequence[Report], feeds: int, seed: int, start: datetime
) -> list[tuple[Report, int, datetime]]:
    """(report, feed, published): a random time in the day after ``start``, a random feed."""
    rng = random.Random(seed)
    out = []
    for r in reports:
        feed = rng.randrange(feeds)
        out.append((r, feed, start + timedelta(seconds=rng.uniform(0, 86_400))))
    return sorted(out, key=lambda x: x[2])


def rss(entries: Sequence[tuple[Report, datetime]]) -> bytes:
    items = [
        f'<item><guid isPermaLink="false">{escape(r.id)}</guid><title>{escape(r.title)}</title>'
        f"<link>{escape(r.url)}</link><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{escape(r.summary)}</description></item>"
        for r, when in sorted(entries, key=lambda e: e[1], reverse=True)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>news</title>'
        f"<link>https://news.example.org/</link>{''.join(items)}</channel></rss>"
    ).encode()


def run_day(
    workdir: Path,
    reports: Sequence[Report],
    *,
    feeds: int = 4,
    waves: int = 6,
    seed: int = 1,
    keywords: Path = ROOT / "keywords.yaml",
) -> DayResult:
    """Replay the day in ``waves`` runs of ``watcher run --once``; count from the store."""
    now = datetime.now(UTC)
    start = now - timedelta(days=1)
    plan = schedule(reports, feeds, seed, start)
    shutil.copy(keywords, workdir / "keywords.yaml")
    with FeedServer() as srv:
        lines = ["sources:"]
        for f in range(feeds):
            srv.route(f"/feed{f}.xml", rss([]))
            lines += [
                f"  - id: feed{f}",
                f"    name: Feed {f}",
                f"    url: {srv.url(f'/feed{f}.xml')}",
                "    backfill: 7d",
            ]
        (workdir / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for wave in range(1, waves + 1):
            cut = start + timedelta(days=wave / waves)
            for f in range(feeds):
                listed = [(r, when) for r, feed, when in plan if feed == f and when <= cut]
                srv.route(f"/feed{f}.xml", rss(listed))
            quiet = contextlib.ExitStack()  # the console channel's alerts, the start-up summary
            quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
            quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
            with quiet:
                code = main(["--config", str(workdir), "--log-format", "json", "run", "--once"])
            if code != 0:
                raise RuntimeError(f"watcher run --once failed at wave {wave}")
    result = count(workdir / "state" / "watcher.db", {r.id: r.development for r in reports})
    result.waves = waves
    return result


def count(db: Path, development: dict[str, str]) -> DayResult:
    con = sqlite3.connect(db)
    try:
        placed = con.execute(
            "SELECT i.guid FROM story_reports r JOIN items i ON i.id = r.item_id"
        ).fetchall()
        alerted = con.execute(
            "SELECT i.guid FROM alerts a JOIN items i ON i.id = a.item_id"
        ).fetchall()
        stories = con.execute(
            "SELECT r.story_id, i.guid FROM story_reports r JOIN items i ON i.id = r.item_id"
            " ORDER BY r.id"
        ).fetchall()
    finally:
        con.close()
    result = DayResult()
    guids = {g for (g,) in placed} | {g for (g,) in alerted}
    result.reports = len(guids)
    result.developments = {development[g] for g in guids}
    result.alerts = Counter(development[g] for (g,) in alerted)
    members: dict[int, list[str]] = {}
    for story_id, guid in stories:
        members.setdefault(int(story_id), []).append(guid)
    result.mixed = [
        [f"{g}:{development[g]}" for g in guids]
        for guids in members.values()
        if len({development[g] for g in guids}) > 1
    ]
    return result
