"""The fetcher against a real HTTP server on 127.0.0.1: conditional GET and every bound."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.servers import FeedServer
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>
<item><title>One</title><link>http://example.org/1</link><guid>g1</guid></item>
</channel></rss>"""


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    settings = FetchSettings(deadline=2.0, read_timeout=1.0, max_body_bytes=200_000)
    async with Fetcher(settings) as f:
        yield f


async def test_conditional_get_by_etag(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/f.xml", RSS, etag='"v1"')
    first = await fetcher.fetch(server.url("/f.xml"))
    assert (first.status, first.body, first.etag, first.not_modified) == (200, RSS, '"v1"', False)
    again = await fetcher.fetch(server.url("/f.xml"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == '"v1"'
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    assert "watcher" in server.requests[-1].headers["user-agent"]


async def test_errors_are_classified(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect_loop("/a", "/b")
    server.gzip_bomb("/bomb", 20 * 1024 * 1024)
    server.route("/429", status=429, headers=(("Retry-After", "120"),))
    cases = {
        "/a": FetchErrorKind.TOO_MANY_REDIRECTS,
        "/bomb": FetchErrorKind.TOO_LARGE,
        "/429": FetchErrorKind.RATE_LIMITED,
        "/nope": FetchErrorKind.NOT_FOUND,
    }
    for path, kind in cases.items():
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(server.url(path))
        assert info.value.kind is kind, path
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/429"))
    assert info.value.retry_after == 120
