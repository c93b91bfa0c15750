"""Parse stage: feed bytes -> normalised ``Item``s; HTML -> text; canonical URLs."""

from __future__ import annotations

from watcher.parse.feed import ParsedFeed, parse_feed, parse_feed_async
from watcher.parse.text import html_to_text
from watcher.parse.urls import canonical_url

__all__ = ["ParsedFeed", "canonical_url", "html_to_text", "parse_feed", "parse_feed_async"]
