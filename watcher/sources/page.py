"""``type: page``: a listing page without a feed, read with CSS selectors by
``watcher.parse.page`` (docs/web.md)."""

from __future__ import annotations

from typing import Literal

from watcher.parse.page import PageSelectors, ParsedPage, parse_page
from watcher.sources.base import HTML_ACCEPT, Fetched, FetchRequest, SourceConfig


class PageSource(SourceConfig):
    type: Literal["page"] = "page"
    selectors: PageSelectors


class PageKind:
    name = "page"
    config = PageSource
    opml_type = "link"

    def request(self, source: SourceConfig) -> FetchRequest:
        return FetchRequest(source.url, HTML_ACCEPT)

    def parse(self, fetched: Fetched, source: SourceConfig) -> ParsedPage:
        assert isinstance(source, PageSource)  # kind_of chose this kind by its model
        return parse_page(
            fetched.body,
            headers=fetched.headers,
            source_id=source.id,
            base_url=fetched.base_url,
            selectors=source.selectors,
            language=source.language,
            now=fetched.now,
        )


KIND = PageKind()
