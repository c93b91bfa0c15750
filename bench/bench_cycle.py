"""One poll cycle over 1,000 feeds on loopback (50 items each): unchanged, 10% and all changed.

Prints wall time, CPU time and peak memory (RSS high-water mark) of each cycle, and the ratio
of the full pipeline (fetch, parse, score, store) to feedparser alone parsing the same bytes,
measured in the same run. The feed server runs as its own process (as a remote server would;
``--server thread`` runs it in a thread of this process instead, so its CPU and its share of
the GIL count against the pipeline); the feeds are files it serves with ETags.

    python bench/bench_cycle.py [--feeds 1000] [--items 50] [--server process|thread] [--slots N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.feedserver import FeedServer
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher, FetchSettings
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.store.db import open_database

ROOT = Path(__file__).resolve().parent.parent
TITLES = [
    "China repatriates North Korean defectors caught near Dandong",
    "Seoul stock market closes higher on chip exports",
    "North Korean workers sent to construction sites in Russia's Far East",
    "Local elections: turnout expected to rise",
    "Russia and DPRK sign agreement on legal assistance between prosecutors",
]


def feed_body(feed: int, version: int, items: int) -> bytes:
    now = datetime.now(UTC)
    parts = []
    for i in range(items):
        title = f"{TITLES[(feed + i) % len(TITLES)]} ({feed}/{version}/{i})"
        when = format_datetime(now - timedelta(minutes=i))
        parts.append(
            f"<item><guid>f{feed}-v{version}-{i}</guid><title>{title}</title>"
            f"<link>https://news{feed % 50}.example.org/{feed}/{version}/{i}?utm_source=x</link>"
            f"<pubDate>{when}</pubDate><description>&lt;p&gt;{title}. Officials said more"
            " details would follow; the report could not be independently verified.&lt;/p&gt;"
            "</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example.org/</link>{''.join(parts)}"
        "</channel></rss>"
    ).encode()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def cycle(pipeline: Pipeline, sources: list[SourceConfig]) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, new items, failures."""

    async def poll(source: SourceConfig) -> tuple[bool, int]:
        # keep what the scheduler keeps of an outcome: its alerts (with their matches) are
        # dropped once handled; 60% of these items alert, holding them all cost ~100 MB
        outcome = await pipeline.poll(source)
        return outcome.ok, outcome.new_items

    w0, c0 = time.perf_counter(), time.process_time()
    outcomes = await asyncio.gather(*(poll(s) for s in sources))
    wall, used = time.perf_counter() - w0, time.process_time() - c0
    failed = sum(1 for ok, _ in outcomes if not ok)
    return wall, used, sum(n for _, n in outcomes), failed


@contextlib.contextmanager
def feed_server(folder: Path, mode: str) -> Iterator[str]:
    """The base URL of a server of ``folder``: a separate process, or a thread of this one."""
    if mode == "thread":
        with FeedServer(record=False) as srv:
            srv.serve_dir("/", folder)
            yield srv.base_url
        return
    proc = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore::RuntimeWarning",
            "-m",
            "tests.servers.feedserver",
            "--dir",
            str(folder),
            "--watch-stdin",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


async def main_async(n_feeds: int, n_items: int, server: str, slots: int) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as served:
        folder = Path(served)
        for f in range(n_feeds):
            (folder / f"f{f}.xml").write_bytes(feed_body(f, 0, n_items))
        stack = contextlib.ExitStack()
        base = stack.enter_context(feed_server(folder, server))
        sources = [
            SourceConfig(id=f"f{f}", url=f"{base.rstrip('/')}/f{f}.xml", language="en", interval=60)
            for f in range(n_feeds)
        ]
        db = open_database(str(Path(tmp) / "bench.db"))
        # the defaults (32 at once, 2 per host): all 1,000 feeds are on one host here, so
        # 2 connections carry them all (more connections only cost CPU on loopback)
        settings = FetchSettings()
        async with Fetcher(settings) as fetcher:
            pipeline = Pipeline(
                db=db,
                fetcher=fetcher,
                scorer=lambda: rules,
                notifiers=lambda: [],
                processing_slots=slots,
            )
            print(f"{n_feeds} feeds x {n_items} items on loopback; RSS at start {peak_mb():.0f} MB")
            results = {}
            wall, cpu, new, failed = await cycle(pipeline, sources)
            results["first poll (all new)"] = (wall, cpu, new, failed, peak_mb())
            wall, cpu, new, failed = await cycle(pipeline, sources)
            results["all unchanged (304)"] = (wall, cpu, new, failed, peak_mb())
            version = 1
            changed_bytes: list[bytes] = []
            for label, share in (("10% changed", 0.1), ("all changed", 1.0)):
                changed_bytes = []
                for f in range(int(n_feeds * share)):
                    body = feed_body(f, version, n_items)
                    changed_bytes.append(body)
                    (folder / f"f{f}.xml").write_bytes(body)
                version += 1
                wall, cpu, new, failed = await cycle(pipeline, sources)
                results[label] = (wall, cpu, new, failed, peak_mb())
            # the baseline: feedparser alone on the bytes of the all-changed cycle
            w0, c0 = time.perf_counter(), time.process_time()
            for body in changed_bytes:
                feedparser.parse(body, response_headers={"content-type": "application/rss+xml"})
            fp_wall, fp_cpu = time.perf_counter() - w0, time.process_time() - c0
        db.close()
        stack.close()
    for label, (wall, cpu, new, failed, peak) in results.items():
        print(
            f"{label:22s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  new items {new:6d}"
            f"  failed {failed:4d}  peak RSS {peak:5.0f} MB"
        )
    full = results["all changed"][0]
    print(
        f"feedparser alone, same {len(changed_bytes)} bodies:"
        f" wall {fp_wall:.2f} s cpu {fp_cpu:.2f} s"
    )
    print(f"full pipeline (all changed) vs feedparser alone: {fp_wall / full:.1f}x faster")
    print("targets: unchanged < 5 s; all changed >= 3x faster than feedparser; peak < 200 MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--server", choices=("process", "thread"), default="process")
    ap.add_argument("--slots", type=int, default=8, help="Pipeline.processing_slots")
    args = ap.parse_args()
    asyncio.run(main_async(args.feeds, args.items, args.server, args.slots))


if __name__ == "__main__":
    main()
