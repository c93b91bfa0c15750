"""Full text against article pages on 127.0.0.1: extraction, cache, bounds, robots.txt."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.models import Item
from watcher.rules import load_rules
from watcher.store import Database
from watcher.web.fulltext import FullText, article_fetcher
from watcher.web.guard import AddressPolicy

WEB = DATA / "web"
KEYWORDS = DATA.parent.parent / "keywords.yaml"


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        srv.route("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        for name in ("article-court.html", "article-ko.html", "article-ru.html"):
            srv.route(f"/a/{name}", (WEB / name).read_bytes(), content_type="text/html")
        yield srv


def _item(url: str, title: str) -> Item:
    return Item(source_id="s", guid=url, url=url, title=title)


async def test_full_text_turns_a_headline_into_an_alert(
    server: FeedServer, memdb: Database
) -> None:
    rules = load_rules(KEYWORDS)
    item = _item(server.url("/a/article-court.html"), "Court in Vladivostok hears case of a worker")
    assert rules.score(item).alerted_ids == ()
    async with article_fetcher(deadline=5.0) as fetcher:
        ft = FullText(fetcher, db=memdb)
        [enriched] = await ft.enrich([item], allow_private=True)
        assert "Jun Kyung-chul" in enriched.content
        assert "Football results" not in enriched.content  # boilerplate dropped
        assert "repatriation" in rules.score(enriched).alerted_ids
        await ft.enrich([item], allow_private=True)  # cached: not fetched again
    assert server.hits("/a/article-court.html") == 1
    async with article_fetcher(deadline=5.0) as fetcher:  # the cache outlives the process
        await FullText(fetcher, db=memdb).enrich([item], allow_private=True)
    assert server.hits("/a/article-court.html") == 1


async def test_legacy_encodings(server: FeedServer) -> None:
    async with article_fetcher(deadline=5.0) as fetcher:
        ft = FullText(fetcher)
        ko, ru = await ft.enrich(
            [
                _item(server.url("/a/article-ko.html"), "x"),
                _item(server.url("/a/article-ru.html"), "y"),
            ],
            allow_private=True,
        )
    assert "강제북송" in ko.content
    assert "депортируют" in ru.content


async def test_refusals_keep_the_item(server: FeedServer) -> None:
    server.route("/private/a", b"<p>secret</p>", content_type="text/html")
    server.route("/slow", b"<p>" + b"x" * 1000 + b"</p>", content_type="text/html", delay=3.0)
    server.route("/huge", b"<p>" + b"y" * 1024 * 1024 + b"</p>", content_type="text/html", repeat=5)
    async with article_fetcher(deadline=1.0, max_body_bytes=512 * 1024) as fetcher:
        ft = FullText(fetcher)
        cases = {"/private/a": "robots", "/slow": "failed", "/huge": "failed"}
        for path, status in cases.items():
            art = await ft.article(server.url(path), allow_private=True)
            assert art.status == status, (path, art)
        [kept] = await ft.enrich([_item(server.url("/huge"), "t")], allow_private=True)
        assert kept.content == "" and kept.title == "t"
        assert server.hits("/private/a") == 0
        art = await ft.article(server.url("/a/article-court.html"), allow_private=False)
        assert art.status == "blocked"
        art = await ft.article("file:///etc/passwd")
        assert art.status == "blocked"


async def test_redirect_to_private_refused(server: FeedServer) -> None:
    server.redirect("/r", "http://10.0.0.7/internal")
    fetcher = article_fetcher(deadline=3.0, policy=AddressPolicy.trusting("127.0.0.1/32"))
    async with fetcher:
        art = await FullText(fetcher).article(server.url("/r"), allow_private=False)
    assert art.status == "blocked" and "10.0.0.7" in art.error
