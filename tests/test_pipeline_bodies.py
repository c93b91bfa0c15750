"""Bodies fetched ahead of processing wait for a body slot: every poll still completes;
parsing and storing run on the pipeline's own few threads (each allocating thread keeps a
malloc arena of its own, see docs/performance.md).

With one body slot and one processing slot, a slot leaked by any path (a failed body read, a
parse error, a 304, an unchanged body) would hang every later poll of the cycle.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.servers import FeedServer
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher, FetchSettings
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.store.db import Database

RULES = Path(__file__).parent / "data" / "run" / "keywords.yaml"


def rss(n: int) -> bytes:
    items = "".join(
        f"<item><title>Item {n}.{i}</title><link>http://example.org/{n}/{i}</link>"
        f"<guid>g{n}-{i}</guid></item>"
        for i in range(3)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{n}</title>{items}'
        "</channel></rss>"
    ).encode()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


async def test_one_body_slot_serves_a_whole_cycle(server: FeedServer, memdb: Database) -> None:
    rules = load_rules(RULES)
    server.route("/big.xml", b"x" * 5000)  # over max_body_bytes: fails after its slot
    server.route("/junk.xml", b"not a feed at all")  # read, then fails to parse
    server.route("/gone.xml", b"gone", status=410)
    for n in range(6):
        server.route(f"/f{n}.xml", rss(n), etag=f'"e{n}"')
    paths = ["/big.xml", "/junk.xml", "/gone.xml", *(f"/f{n}.xml" for n in range(6))]
    sources = [
        SourceConfig(id=f"s{k}", url=server.url(p), language="en", interval=60)
        for k, p in enumerate(paths)
    ]
    async with Fetcher(FetchSettings(max_body_bytes=4000, deadline=5.0)) as fetcher:
        pipeline = Pipeline(
            memdb, fetcher, lambda: rules, lambda: [], processing_slots=1, body_slots=1
        )
        for expected in ("new", "not_modified"):
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(pipeline.poll(s) for s in sources)), 30
            )
            assert [o.ok for o in outcomes] == [False] * 3 + [True] * 6
            assert [o.status for o in outcomes[3:]] == [expected] * 6
            assert [o.new_items for o in outcomes[3:]] == [3 if expected == "new" else 0] * 6


async def test_stages_run_on_the_pipelines_own_threads(server: FeedServer, memdb: Database) -> None:
    rules = load_rules(RULES)
    for n in range(12):
        server.route(f"/f{n}.xml", rss(n))
    sources = [
        SourceConfig(id=f"s{n}", url=server.url(f"/f{n}.xml"), language="en", interval=60)
        for n in range(12)
    ]
    before = set(threading.enumerate())  # other pipelines' threads may linger
    async with Fetcher() as fetcher:
        pipeline = Pipeline(memdb, fetcher, lambda: rules, lambda: [], stage_threads=2)
        outcomes = await asyncio.gather(*(pipeline.poll(s) for s in sources))
    assert [o.new_items for o in outcomes] == [3] * 12
    new = set(threading.enumerate()) - before
    stage = [t for t in new if t.name.startswith("watcher-stage")]
    assert 1 <= len(stage) <= 2
