"""Parsing and scoring in worker processes (``Pipeline(workers=Workers(n))``) stores exactly
what the in-process pipeline stores: items, scores, alerts and their matches; a new Rules
object (a hot reload) gets a new pool."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.servers import FeedServer
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher
from watcher.pipeline import Pipeline
from watcher.rules import Rules, load_rules
from watcher.store.db import Database, open_database
from watcher.workers import Workers

ROOT = Path(__file__).parent.parent
TITLES = [
    "China forcibly repatriates North Korean defectors arrested in Shenyang",
    "Weather in Seoul is sunny",
    "North Korean workers sent to construction sites in Russia's Far East",
    "Russia and DPRK sign agreement on legal assistance between prosecutors",
    "북한 외교관 탈북, 한국 입국",
    "КНДР и Россия подписали договор о правовой помощи",
]


def feed(n: int) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><guid>{n}-{i}</guid><title>{t}</title><link>https://n{n}.example.org/{i}</link>"
        f"<pubDate>{format_datetime(now - timedelta(hours=i))}</pubDate>"
        f"<description>&lt;p&gt;{t}. More to follow.&lt;/p&gt;</description></item>"
        for i, t in enumerate(TITLES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
        f"{items}</channel></rss>"
    ).encode()


async def run(db: Database, rules: Rules, srv: FeedServer, workers: Workers | None) -> None:
    async with Fetcher() as fetcher:
        pipeline = Pipeline(
            db=db, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: [], workers=workers
        )
        sources = [
            SourceConfig(id=f"s{n}", url=srv.url(f"/{n}"), language="en", interval=60)
            for n in range(4)
        ]
        outcomes = await asyncio.gather(*(pipeline.poll(s) for s in sources))
    assert all(o.ok for o in outcomes)


def stored(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.transaction() as tx:
        items = tx.fetchall(
            "SELECT source_id, guid, url, title, summary, scores FROM items"
            " ORDER BY source_id, guid"
        )
        alerts = tx.fetchall(
            "SELECT dedupe_key, source_id, topics, score, matches FROM alerts ORDER BY dedupe_key"
        )
    return items, alerts


async def test_workers_store_what_threads_store(tmp_path: Path) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    workers = Workers(1)
    try:
        async with FeedServer() as srv:
            for n in range(4):
                srv.route(f"/{n}", feed(n))
            results = []
            for name, pool in (("threads", None), ("workers", workers)):
                db = open_database(tmp_path / f"{name}.db")
                try:
                    await run(db, rules, srv, pool)
                    results.append(stored(db))
                finally:
                    db.close()
        (items_a, alerts_a), (items_b, alerts_b) = results
        assert items_a == items_b and len(items_a) == 4 * len(TITLES)
        assert alerts_a == alerts_b and len(alerts_a) >= 4
        assert workers.peak_rss_kb()  # the worker process did run (and is alive)
        first = workers.executor(rules)
        assert workers.executor(rules) is first
        reloaded = load_rules(ROOT / "keywords.yaml")  # a reload: a new Rules object
        assert workers.executor(reloaded) is not first
    finally:
        workers.close()
