"""Every fixture feed served over HTTP on 127.0.0.1, fetched and parsed as a run would: each
gives items or a clear FetchError, never a crash; served with wrong charsets too."""

from __future__ import annotations

import asyncio

from tests.servers import FeedServer
from tests.test_parse_fixtures import FEEDS, FIXTURES, fixture_headers
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings
from watcher.parse import ParsedFeed, parse_feed_async

WRONG_CHARSETS = {
    "real/ibash-ru-windows-1251.xml": "application/rss+xml; charset=utf-8",
    "real/nyt-world-2020-01-01.xml": "text/xml; charset=koi8-r",
    "real/qq-news-china-gb2312.xml": "text/html; charset=iso-8859-1",
    "real/bbc-urdu.xml": "application/xml; charset=bogus-charset",
}


async def test_every_fixture_over_http() -> None:
    async with FeedServer() as srv, Fetcher(FetchSettings(concurrency=16)) as fetcher:
        paths: dict[str, str] = {}
        for n, file in enumerate(FIXTURES):
            rel = str(file.relative_to(FEEDS))
            headers = fixture_headers(file.read_bytes())
            ctype = (
                WRONG_CHARSETS.get(rel)
                or headers.pop("Content-type", "")
                or headers.pop("Content-Type", "application/xml")
            )
            extra = tuple((k, v) for k, v in headers.items() if k.lower() != "content-type")
            path = f"/{n}"
            srv.serve_file(path, file, content_type=ctype, headers=extra, gzip=n % 2 == 0)
            paths[rel] = path

        async def run(rel: str) -> ParsedFeed | FetchError:
            try:
                result = await fetcher.fetch(srv.url(paths[rel]))
                return await parse_feed_async(
                    result.body,
                    headers=result.headers,
                    source_id=rel,
                    base_url=result.final_url,
                )
            except FetchError as exc:
                return exc

        outcomes = dict(zip(paths, await asyncio.gather(*map(run, paths)), strict=True))
    for rel, outcome in outcomes.items():
        if isinstance(outcome, FetchError):
            assert outcome.kind in (FetchErrorKind.PARSE_ERROR, FetchErrorKind.EMPTY), rel
        else:
            assert all(item.source_id == rel for item in outcome.items)
    ok = [r for r, o in outcomes.items() if isinstance(o, ParsedFeed) and o.items]
    assert sum(1 for r in ok if r.startswith("real/")) == 43  # all but the truncated one
    ibash = outcomes["real/ibash-ru-windows-1251.xml"]
    assert isinstance(ibash, ParsedFeed) and ibash.items[0].title == "Цитата #17703"
    nyt = outcomes["real/nyt-world-2020-01-01.xml"]
    assert isinstance(nyt, ParsedFeed) and "‘Death to America’" in nyt.items[0].title
    qq = outcomes["real/qq-news-china-gb2312.xml"]
    assert isinstance(qq, ParsedFeed) and qq.items[0].title == "习近平为何如此强调崇尚英雄？"
    urdu = outcomes["real/bbc-urdu.xml"]
    assert isinstance(urdu, ParsedFeed) and urdu.items[0].language == "ur"
