"""``type: feed`` (the default): an RSS, Atom, RDF or JSON feed, read by ``watcher.parse.feed``."""

from __future__ import annotations

from watcher.parse.feed import ParsedFeed, parse_feed
from watcher.sources.base import Fetched, FetchRequest, SourceConfig


class FeedKind:
    name = "feed"
    config = SourceConfig
    opml_type = "rss"

    def request(self, source: SourceConfig) -> FetchRequest:
        return FetchRequest(source.url)

    def parse(self, fetched: Fetched, source: SourceConfig) -> ParsedFeed:
        return parse_feed(
            fetched.body,
            headers=fetched.headers,
            source_id=source.id,
            language=source.language,
            base_url=fetched.base_url,
            now=fetched.now,
        )


KIND = FeedKind()
