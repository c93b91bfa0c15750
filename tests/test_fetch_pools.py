"""Connection pools per host: keep-alive within a host, at most ``per_host`` connections each,
least recently used idle pools closed beyond ``MAX_POOLS``."""

from __future__ import annotations

import asyncio

import pytest

from tests.servers import FeedServer
from watcher.fetch import Fetcher, FetchSettings
from watcher.fetch import fetcher as fetcher_module

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


async def test_one_pool_per_host_with_keep_alive() -> None:
    async with FeedServer() as a, FeedServer() as b:
        a.route("/f", BODY)
        b.route("/f", BODY)
        async with Fetcher(FetchSettings(concurrency=8, per_host=2)) as f:
            for _ in range(3):
                results = await asyncio.gather(
                    *(f.fetch(a.url("/f")) for _ in range(6)),
                    *(f.fetch(b.url("/f")) for _ in range(6)),
                )
                assert all(r.body == BODY for r in results)
            assert len(f._pools) == 2
        # 36 requests, 2 at a time per host: two connections each, reused throughout
        assert a.connections <= 2 and b.connections <= 2


async def test_least_recently_used_idle_pools_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetcher_module, "MAX_POOLS", 2)
    async with FeedServer() as a, FeedServer() as b, FeedServer() as c:
        for srv in (a, b, c):
            srv.route("/f", BODY)
        async with Fetcher() as f:
            for srv in (a, b, c, a):
                assert (await f.fetch(srv.url("/f"))).body == BODY
            assert len(f._pools) == 2
            keys = list(f._pools)
            assert str(c.port) in keys[0] and str(a.port) in keys[1]  # b was the oldest
        assert a.connections == 2  # a's pool was closed once, then opened again
