"""Parsing speed on the real fixture feeds: fastfeedparser vs feedparser vs our parse_feed.

    python bench/bench_parse.py [--repeat 5] [--feeds DIR]

For each real feed (tests/data/feeds/real/), in the same run: the best-of-N time of
fastfeedparser alone, of feedparser alone (the reference, the baseline), and of
``parse_feed`` (which picks the fast parser or falls back to feedparser, then normalises into
Items: HTML to text, canonical URLs, dates). Prints per-feed times, the ratios
feedparser / fastfeedparser and feedparser / parse_feed, and the totals. No assertions.
"""

from __future__ import annotations

import argparse
import gzip
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fastfeedparser
import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watcher.errors import FetchError  # noqa: E402
from watcher.parse import parse_feed  # noqa: E402


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # a parser that fails is timed until it fails
            result = exc
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--feeds", type=Path, default=ROOT / "tests" / "data" / "feeds" / "real")
    args = ap.parse_args(argv)
    files = sorted(p for p in args.feeds.iterdir() if p.suffix in (".xml", ".atom", ".gz"))
    print(f"{len(files)} feeds, best of {args.repeat} runs each, milliseconds\n")
    head = (
        f"{'feed':42} {'KB':>6} {'fast':>7} {'feedp':>8} {'fp/fast':>8} {'ours':>7} "
        f"{'fp/ours':>8}  path"
    )
    print(head)
    print("-" * len(head))
    t_fast = t_fp = t_ours = 0.0
    fast_ratios: list[float] = []
    used = {"fast": 0, "feedparser": 0, "error": 0}
    for path in files:
        raw = path.read_bytes()
        body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        tf, fast_result = best_of(args.repeat, lambda b=body: fastfeedparser.parse(b))
        tp, _ = best_of(args.repeat, lambda b=body: feedparser.parse(io.BytesIO(b)))
        to, ours = best_of(args.repeat, lambda b=raw: parse_feed(b, headers={}, source_id="bench"))
        route = "error" if isinstance(ours, FetchError) else getattr(ours, "parser", "error")
        used[route] += 1
        fast_ok = not isinstance(fast_result, Exception)
        if fast_ok:
            fast_ratios.append(tp / tf)
        t_fast += tf
        t_fp += tp
        t_ours += to
        print(
            f"{path.name[:42]:42} {len(body) / 1024:6.0f} {tf * 1e3:7.2f} {tp * 1e3:8.2f} "
            f"{(tp / tf if fast_ok else float('nan')):8.1f} {to * 1e3:7.2f} {tp / to:8.1f}  {route}"
        )
    print("-" * len(head))
    print(
        f"{'TOTAL':42} {'':6} {t_fast * 1e3:7.1f} {t_fp * 1e3:8.1f} {t_fp / t_fast:8.1f} "
        f"{t_ours * 1e3:7.1f} {t_fp / t_ours:8.1f}"
    )
    print(
        f"\nfeedparser / fastfeedparser per feed (where it parsed): median "
        f"{statistics.median(fast_ratios):.1f}x, min {min(fast_ratios):.1f}x, "
        f"max {max(fast_ratios):.1f}x"
    )
    print(
        f"feedparser alone / parse_feed overall: {t_fp / t_ours:.1f}x "
        f"(parse_feed used the fast path on {used['fast']}, feedparser on {used['feedparser']}, "
        f"gave a FetchError on {used['error']})"
    )
    print(
        f"mean per feed: feedparser {t_fp / len(files) * 1e3:.1f} ms, "
        f"parse_feed {t_ours / len(files) * 1e3:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
