"""``type: feed`` (the default): an RSS, Atom, RDF or JSON feed, read by ``watcher.parse.feed``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from watcher.parse.feed import ParsedFeed, parse_feed
from watcher.sources.base import FetchRequest, SourceConfig


class FeedKind:
    name = "feed"
    config = SourceConfig
    opml_type = "rss"

    def request(self, source: SourceConfig) -> FetchRequest:
        return FetchRequest(source.url)

    def parse(
        self,
        body: bytes,
        *,
        headers: Mapping[str, str],
        base_url: str,
        source: SourceConfig,
        now: datetime,
    ) -> ParsedFeed:
        return parse_feed(
            body,
            headers=headers,
            source_id=source.id,
            language=source.language,
            base_url=base_url,
            now=now,
        )


KIND = FeedKind()
