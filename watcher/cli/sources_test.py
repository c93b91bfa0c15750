"""`watcher sources test ID`: fetch one source now and print what it found, without alerting.

How a maintainer checks a new source: the items, the length of the full text extracted (when
``fulltext: true``) and how the rules score each item. Nothing is stored and nothing is sent.
Hook: ``add_test_parser(subparsers_of_sources)`` or call ``cmd_sources_test(args)`` with
``args.source_id`` set.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from watcher.cli import EXIT_FAILED, EXIT_OK, settings_from_args
from watcher.errors import FetchError
from watcher.models import Item


def add_test_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("test", help="fetch one source now and show items and scores (no alerts)")
    p.add_argument("source_id", metavar="ID")
    p.set_defaults(func=cmd_sources_test)


async def fetch_source_items(source: Any) -> tuple[list[Item], list[int]]:
    """The source's items (full text added when it asks for it) and each one's text length."""
    from watcher.fetch import Fetcher
    from watcher.parse import parse_feed
    from watcher.web.fulltext import FullText, article_fetcher
    from watcher.web.pages import parse_page

    async with Fetcher() as fetcher:
        result = await fetcher.fetch(source.url)
    if source.type == "page":
        items = list(
            parse_page(
                result.body,
                headers=result.headers,
                source_id=source.id,
                base_url=result.final_url,
                selectors=source.selectors,
                language=source.language,
            ).items
        )
    else:
        items = list(
            parse_feed(
                result.body,
                headers=result.headers,
                source_id=source.id,
                language=source.language,
                base_url=result.final_url,
            ).items
        )
    if source.fulltext:
        async with article_fetcher() as afetcher:
            items = await FullText(afetcher).enrich(items, allow_private=source.allow_private)
    return items, [len(i.content) for i in items]


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
        items, lengths = asyncio.run(fetch_source_items(source))
    except FetchError as exc:
        print(f"{source.id}: {exc} ({exc.url or source.url})")
        return EXIT_FAILED
    print(f"{source.id} ({source.type}, {source.url}): {len(items)} items")
    for item, length in zip(items, lengths, strict=True):
        result = rules.score(item)
        scores = ", ".join(f"{t.topic}={t.score:.2f}" for t in result.topics if t.score > 0)
        flag = "ALERT " + "+".join(result.alerted_ids) if result.alerted else "-"
        print(f"- {item.title[:90]}\n  {item.url}\n  text {length} chars; {flag}; {scores}")
    return EXIT_OK
