"""The pipeline with a page source and full text, against 127.0.0.1: new items only."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.fetch import Fetcher
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.sources.page import PageSource
from watcher.store import Database
from watcher.store.sources import get_state
from watcher.web.fulltext import FullText, article_fetcher

WEB = DATA / "web"


async def test_page_source_with_full_text_alerts_on_the_body(
    memdb: Database, tmp_path: Path
) -> None:
    rules = load_rules(DATA.parent.parent / "keywords.yaml")
    async with FeedServer() as srv:
        page = (WEB / "listing-en.html").read_bytes()
        page = page.replace(b"https://other.example.org/story/77", b"/story/77")
        srv.route("/news/", page, content_type="text/html")
        srv.route("/news/2026/11/vladivostok-court", (WEB / "article-court.html").read_bytes(),
                  content_type="text/html")  # fmt: skip
        source = PageSource.model_validate(
            {"id": "alliance", "url": srv.url("/news/"), "type": "page", "fulltext": True,
             "allow_private": True, "backfill": 10 * 365 * 86400,
             "selectors": {"item": "ul.news li", "link": "a.headline", "date": "span.date"}}
        )  # fmt: skip
        async with Fetcher() as fetcher, article_fetcher() as afetcher:
            pipeline = Pipeline(
                db=memdb, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: [],
                fulltext=FullText(afetcher, db=memdb),
            )  # fmt: skip
            first = await pipeline.poll(source)
            assert first.ok and first.new_items == 3
            assert [a.title for a in first.alerts] == [
                "Court in Vladivostok hears case of a worker"
            ]
            srv.route("/news/", page + b"<!-- changed -->", content_type="text/html")
            again = await pipeline.poll(source)
            assert again.ok and again.new_items == 0 and not again.alerts
        assert srv.hits("/news/2026/11/vladivostok-court") == 1  # seen items are not refetched
        srv.route(
            "/news/", (WEB / "listing-en-redesigned.html").read_bytes(), content_type="text/html"
        )
        async with Fetcher() as fetcher:
            pipeline = Pipeline(
                db=memdb, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: []
            )
            broken = await pipeline.poll(source)
        assert not broken.ok
        state = get_state(memdb, "alliance")
        assert state is not None and state.last_error_kind == "selectors matched nothing"
        assert "'ul.news li' matched nothing" in (state.last_error or "")
