"""What the source lease costs each poll, on SQLite (one process) and PostgreSQL.

Before it had leases, the scheduler read the source's row before each poll (``get_state``: is
it backing off?). Now it takes the lease (one write transaction: ``try_lease_source``) and
gives it back after the poll (another: ``release_source``). This prints, per poll and per
store, the old check, the new take + give back, and the difference, next to the cheapest real
poll there is, measured in the same run: ``Pipeline.poll`` of an unchanged feed answered 304
on loopback (fetch + two small transactions). Ratios are against that poll.

    python bench/bench_leases.py [--polls 2000] [--sources 50]

PostgreSQL is skipped with a note when it is not reachable (WATCHER_TEST_PG or 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.feedserver import FeedServer
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.store import sources as sources_store
from watcher.store.db import Database, open_database
from watcher.store.leases import release_source, try_lease_source

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("WATCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<link>https://example.org/</link><item><guid>1</guid><title>Weather</title>"
    b"<link>https://example.org/1</link></item></channel></rss>"
)


def per_call_us(fn: Callable[[int], object], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - started) / n * 1e6


def measure_store(db: Database, polls: int, sources: int) -> tuple[float, float]:
    ids = [f"s{i}" for i in range(sources)]
    for sid in ids:  # rows exist, as after a first poll
        try_lease_source(db, sid, "bench", time.time(), 60.0, url=f"https://example.org/{sid}")
        release_source(db, sid, "bench")

    def old_check(i: int) -> object:
        return sources_store.get_state(db, ids[i % sources])

    def lease(i: int) -> object:
        sid = ids[i % sources]
        taken = try_lease_source(
            db, sid, "bench", time.time(), 60.0, url=f"https://example.org/{sid}"
        )
        assert taken
        return release_source(db, sid, "bench")

    per_call_us(old_check, min(polls, 200))  # warm up
    per_call_us(lease, min(polls, 200))
    return per_call_us(old_check, polls), per_call_us(lease, polls)


async def measure_poll(db: Database, polls: int) -> float:
    """Microseconds per Pipeline.poll of an unchanged feed (304) on loopback."""
    rules = load_rules(ROOT / "keywords.yaml")
    with FeedServer(record=False) as server:
        server.route("/f.xml", FEED, etag='"v1"')
        source = SourceConfig(id="poll", url=server.url("/f.xml"), language="en")
        async with Fetcher() as fetcher:
            pipeline = Pipeline(db=db, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: [])
            await pipeline.poll(source)  # first poll stores the ETag
            for _ in range(20):
                await pipeline.poll(source)
            started = time.perf_counter()
            for _ in range(polls):
                outcome = await pipeline.poll(source)
                assert outcome.status == "not_modified", outcome
            return (time.perf_counter() - started) / polls * 1e6


def pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{exc.__class__.__name__}: {exc}"


def run(label: str, url: str, polls: int, sources: int) -> None:
    db = open_database(url)
    try:
        old, new = measure_store(db, polls, sources)
        poll = asyncio.run(measure_poll(db, max(200, polls // 4)))
    finally:
        db.close()
    extra = new - old
    print(
        f"{label:<11} old check {old:7.0f} us | lease take+give back {new:7.0f} us"
        f" | added {extra:7.0f} us per poll | a 304 poll {poll:7.0f} us"
        f" | added/poll = {extra / poll:6.1%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polls", type=int, default=2000)
    ap.add_argument("--sources", type=int, default=50)
    args = ap.parse_args()
    print(f"{args.polls} polls over {args.sources} sources, per poll (us = microseconds)")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite WAL", str(Path(tmp) / "bench.db"), args.polls, args.sources)
    reason = pg_reachable()
    if reason:
        print(f"PostgreSQL  skipped: {reason}")
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        run(
            "PostgreSQL", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", args.polls, args.sources
        )
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
