"""`watcher sources test ID`: fetch one source now and print what it found, without alerting.

How a maintainer checks a new source: the items, the length of the full text extracted (when
``fulltext: true``, with the reason when there is none: robots.txt, a blocked address, a
failure) and how the rules score each item. Nothing is stored and nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from watcher.cli import EXIT_FAILED, EXIT_OK, settings_from_args
from watcher.config.feeds import SourceConfig
from watcher.errors import FetchError
from watcher.models import Item
from watcher.store.articles import CachedArticle


def add_trial_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("test", help="fetch one source now and show items and scores (no alerts)")
    p.add_argument("source_id", metavar="ID")
    p.set_defaults(func=cmd_sources_test)


async def fetch_source_items(source: SourceConfig) -> list[tuple[Item, str]]:
    """The source's items (full text added when it asks for it), each with a note on its
    text: its length, and why there is none when the article could not be had."""
    from watcher.fetch import Fetcher
    from watcher.sources import Fetched, kind_of, parse_body
    from watcher.web.fulltext import FullText, article_fetcher

    request = kind_of(source).request(source)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(request.url, headers=request.headers)
    now = datetime.now(UTC)
    parsed = parse_body(source, Fetched(result.body, result.headers, result.final_url, now))
    if not source.fulltext:
        return [(i, text_note(i, None)) for i in parsed.items]
    async with article_fetcher() as afetcher:
        found = await FullText(afetcher).enrich_with_articles(
            parsed.items, allow_private=source.allow_private
        )
    return [(i, text_note(i, article)) for i, article in found]


def text_note(item: Item, article: CachedArticle | None) -> str:
    note = f"text {len(item.content)} chars"
    if article is None or (article.status == "ok" and article.text):
        return note
    why = article.error or article.status if article.status != "ok" else "no article text found"
    return f"{note} ({why})"


def cmd_sources_test(args: argparse.Namespace) -> int:
    from watcher.config.feeds import load_feeds
    from watcher.rules import load_rules

    settings = settings_from_args(args)
    feeds = load_feeds(settings.feeds_path)
    source = feeds.get(args.source_id)
    if source is None:
        known = ", ".join(s.id for s in feeds.sources)
        print(f"watcher: no source {args.source_id!r} in {settings.feeds_path} (known: {known})")
        return EXIT_FAILED
    rules = load_rules(settings.keywords_path)
    try:
        found = asyncio.run(fetch_source_items(source))
    except FetchError as exc:
        print(f"{source.id}: {exc} ({exc.url or source.url})")
        return EXIT_FAILED
    print(f"{source.id} ({source.type}, {source.url}): {len(found)} items")
    for item, note in found:
        result = rules.score(item)
        scores = ", ".join(f"{t.topic}={t.score:.2f}" for t in result.topics if t.score > 0)
        flag = "ALERT " + "+".join(result.alerted_ids) if result.alerted else "-"
        print(f"- {item.title[:90]}\n  {item.url}\n  {note}; {flag}; {scores}")
    return EXIT_OK
