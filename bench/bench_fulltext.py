"""Items scored per second with full text on, and peak memory: 500 articles of 50 KB each
served on 127.0.0.1. Baseline in the same run: scoring the headlines only.

    /tmp/venv/bin/python bench/bench_fulltext.py [--articles 500] [--kb 50] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import FeedServer  # noqa: E402
from watcher.models import Item  # noqa: E402
from watcher.rules import load_rules  # noqa: E402
from watcher.web.fulltext import FullText, FullTextSettings, article_fetcher  # noqa: E402

SEEDS = ROOT / "tests" / "data" / "rules" / "seeds"


def make_article(i: int, size: int, paragraphs: list[str]) -> bytes:
    nav = "".join(f'<li><a href="/s/{k}">Section {k}</a></li>' for k in range(30))
    parts: list[str] = []
    n = 0
    while sum(len(p) for p in parts) < size - 3000:
        parts.append(f"<p>{html.escape(paragraphs[(i + n) % len(paragraphs)])}</p>\n")
        n += 1
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story {i}</title></head>"
        f"<body><header><ul>{nav}</ul></header><main><article><h1>Story {i}</h1>"
        + "".join(parts)
        + "</article></main><footer>Copyright 2026</footer></body></html>"
    )
    return page.encode("utf-8")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=500)
    ap.add_argument("--kb", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    rules = load_rules(ROOT / "keywords.yaml")
    paragraphs = [
        p.strip()
        for f in sorted(SEEDS.glob("*.txt"))
        for p in f.read_text(encoding="utf-8").split("\n")
        if len(p.strip()) > 80
    ]
    async with FeedServer(record=False) as srv:
        srv.route("/robots.txt", b"User-agent: *\nAllow: /\n", content_type="text/plain")
        for i in range(args.articles):
            srv.route(
                f"/a/{i}", make_article(i, args.kb * 1024, paragraphs), content_type="text/html"
            )
        items = [
            Item("bench", srv.url(f"/a/{i}"), srv.url(f"/a/{i}"), f"Story {i} from the region")
            for i in range(args.articles)
        ]
        rss0 = rss_mb()
        t0 = time.perf_counter()
        base_alerts = sum(1 for it in items if rules.score(it).alerted)
        base = time.perf_counter() - t0
        fetcher = article_fetcher(concurrency=args.concurrency, per_host=args.concurrency)
        settings = FullTextSettings(concurrency=args.concurrency, per_host=args.concurrency)
        async with fetcher:
            ft = FullText(fetcher, settings=settings)
            t0 = time.perf_counter()
            enriched = await ft.enrich(items, allow_private=True)
            full_alerts = sum(1 for it in enriched if rules.score(it).alerted)
            full = time.perf_counter() - t0
    got = sum(1 for it in enriched if it.content)
    mean_chars = sum(len(it.content) for it in enriched) / max(1, got)
    n = args.articles
    print(f"articles: {n} x {args.kb} KB on loopback, concurrency {args.concurrency}")
    print(f"headline only (baseline): {n / base:,.0f} items/s, {base_alerts} alerted")
    print(
        f"full text (fetch+extract+score): {n / full:,.1f} items/s ({full:.2f} s),"
        f" {got}/{n} extracted, mean {mean_chars:,.0f} chars, {full_alerts} alerted"
    )
    print(f"ratio baseline/full: {(n / base) / (n / full):,.0f}x slower with full text")
    print(f"peak RSS: {rss_mb():.0f} MB (before full text: {rss0:.0f} MB)")


if __name__ == "__main__":
    asyncio.run(main())
