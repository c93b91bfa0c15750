"""One poll cycle over 1,000 feeds on loopback (50 items each): unchanged, 10% and all changed.

Prints wall time, CPU time and peak memory (RSS high-water mark) of each cycle, and the ratio
of the full pipeline (fetch, parse, score, store) to feedparser alone parsing the same bytes,
measured in the same run. The feed server runs as its own process (as a remote server would;
``--server thread`` runs it in a thread of this process instead, so its CPU and its share of
the GIL count against the pipeline); the feeds are files it serves with ETags.

``--model`` (default: the shipped relevance model) scores with the rules and the model, as
``watcher run`` does; ``--model off`` with the rules alone. The model is only asked about items
whose required entities are there; the run says how many.

``--content synthetic`` (the default) makes small items, 60% of which alert (TITLES), so
scoring and alert inserts weigh much more than in real news. ``--content real`` builds the
feeds from the real fixture feeds of tests/data/feeds/real (RSS, RSS 1.0 and Atom, cycled),
each trimmed or padded (entries repeated) to ``--items`` entries (``--items 0``: their own
counts); a changed feed has every entry's identity (guid, id, link, href, rdf:about)
rewritten with a version tag, so each of its entries is new.

``--stories encoder`` groups reports into stories with the multilingual encoder loaded, as
``watcher run`` does on the default install (``on``: without the encoder; ``off``, the
default: no grouping, the baseline).

    python bench/bench_cycle.py [--content synthetic|real] [--feeds 1000] [--items 50]
        [--server process|thread] [--slots N] [--model PATH|off] [--stories off|on|encoder]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.feedserver import FeedServer
from watcher.config.feeds import SourceConfig
from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchSettings
from watcher.models import Item, ScoreResult
from watcher.parse.feed import parse_feed
from watcher.pipeline import Pipeline
from watcher.relevance import Relevance
from watcher.relevance.files import describe, load_relevance, model_path
from watcher.rules import load_rules
from watcher.settings import StorySettings
from watcher.store.db import open_database
from watcher.stories.hook import build_story_hook

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


REAL = ROOT / "tests" / "data" / "feeds" / "real"
REAL_TYPE = "application/xml"  # what the feed server sends for .xml files
ENTRY = re.compile(rb"<(item|entry)\b[^>]*>.*?</\1>", re.DOTALL)
# an entry's identity: guid / id / link text, Atom link href, RSS 1.0 rdf:about
TEXT_ID = re.compile(rb"(<(guid|id|link)\b[^>]*?(?<!/)>)(.*?)(</\2>)", re.DOTALL)
ATTR_ID = re.compile(rb"""(<(?:link|item)\b[^>]*?\b(?:href|rdf:about)=)(["'])(.*?)\2""", re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A real feed cut around its entries: ``head`` + entries + ``tail``."""

    name: str
    head: bytes
    entries: tuple[bytes, ...]
    tail: bytes


def with_tag(value: bytes, tag: bytes) -> bytes:
    """``value`` (a URL or an id, XML-escaped) with a query parameter ``wbv=tag``."""
    return value + (b"&amp;" if b"?" in value else b"?") + b"wbv=" + tag


def retag(entry: bytes, tag: bytes) -> bytes:
    """``entry`` with every identity (guid, id, link, href, rdf:about) made unique to ``tag``."""
    entry = TEXT_ID.sub(lambda m: m[1] + with_tag(m[3], tag) + m[4], entry)
    return ATTR_ID.sub(lambda m: m[1] + m[2] + with_tag(m[3], tag) + m[2], entry)


def real_templates() -> list[Template]:
    """The fixture feeds whose entries our parser reads one for one, every one a new item.

    Feeds it cannot cut that way (UTF-16, illegally nested, unparsable) are left out.
    """
    templates = []
    for path in sorted(REAL.iterdir()):
        if path.suffix not in (".xml", ".atom", ".gz"):
            continue
        body = path.read_bytes()
        if path.suffix == ".gz":
            body = gzip.decompress(body)
        found = list(ENTRY.finditer(body))
        if not found:
            continue
        entries = tuple(m[0] for m in found)
        template = Template(path.name, body[: found[0].start()], entries, body[found[-1].end() :])
        if all(count_new(template, n, 1) == n for n in (len(entries), len(entries) + 3)):
            templates.append(template)
    return templates


def real_body(template: Template, feed: int, version: int, items: int) -> bytes:
    """``items`` entries (0: its own count) of ``template``, cycled, identities unique to
    (feed, copy, version)."""
    n = items or len(template.entries)
    parts = []
    for i in range(n):
        copy, k = divmod(i, len(template.entries))
        parts.append(retag(template.entries[k], f"f{feed}c{copy}v{version}".encode()))
    return template.head + b"".join(parts) + template.tail


def count_new(template: Template, items: int, feed: int) -> int:
    """New items (guids not in version 0) of version 1, as our parser reads them; -1: unusable."""

    def guids(version: int) -> set[str]:
        body = real_body(template, feed, version, items)
        parsed = parse_feed(body, headers={"content-type": REAL_TYPE}, source_id="t")
        return {item.guid for item in parsed.items}

    try:
        old, new = guids(0), guids(1)
    except FetchError:
        return -1
    return len(new - old) if len(new) == items else -1


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


class Counting(Relevance):
    """Relevance that counts the items the model is asked about."""

    asked = 0

    def probabilities(self, item: Item, result: ScoreResult) -> dict[str, float]:
        probs = super().probabilities(item, result)
        if probs:
            Counting.asked += 1
        return probs


async def main_async(
    content: str, n_feeds: int, n_items: int, server: str, slots: int, model: str, stories: str
) -> None:
    before = peak_mb()
    loaded = load_relevance(load_rules(ROOT / "keywords.yaml"), model_path(ROOT, model))
    scorer = Counting(loaded.rules, loaded.model, loaded.note)
    print(
        f"{describe(scorer)}; RSS after loading rules and model {peak_mb():.0f} MB"
        f" (+{peak_mb() - before:.0f})"
    )
    body: Callable[[int, int], bytes]
    if content == "real":
        templates = real_templates()
        items = n_items

        def body(feed: int, version: int) -> bytes:
            return real_body(templates[feed % len(templates)], feed, version, items)

        per_feed = [n_items or len(templates[f % len(templates)].entries) for f in range(n_feeds)]
        content_type = REAL_TYPE
        what = (
            f"{n_feeds} feeds cycled over {len(templates)} real fixture feeds,"
            f" {sum(per_feed)} items per version"
            f" ({'their own counts' if not n_items else f'{n_items} each'})"
        )
    else:

        def body(feed: int, version: int) -> bytes:
            return feed_body(feed, version, n_items)

        per_feed = [n_items] * n_feeds
        content_type = "application/rss+xml"
        what = f"{n_feeds} synthetic feeds x {n_items} items"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as served:
        folder = Path(served)
        for f in range(n_feeds):
            (folder / f"f{f}.xml").write_bytes(body(f, 0))
        size = sum(p.stat().st_size for p in folder.iterdir())
        stack = contextlib.ExitStack()
        base = stack.enter_context(feed_server(folder, server))
        sources = [
            SourceConfig(id=f"f{f}", url=f"{base.rstrip('/')}/f{f}.xml", language="en", interval=60)
            for f in range(n_feeds)
        ]
        db = open_database(str(Path(tmp) / "bench.db"))
        hook = (
            build_story_hook(StorySettings(encoder=stories == "encoder"), db, time.time())
            if stories != "off"
            else None
        )
        if hook is not None and stories == "encoder" and hook.encoder is None:
            raise SystemExit("--stories encoder: the sentence encoder could not be loaded")
        # the defaults (32 at once, 2 per host): all 1,000 feeds are on one host here, so
        # 2 connections carry them all (more connections only cost CPU on loopback)
        settings = FetchSettings()
        async with Fetcher(settings) as fetcher:
            pipeline = Pipeline(
                db=db,
                fetcher=fetcher,
                scorer=lambda: scorer,
                notifiers=lambda: [],
                processing_slots=slots,
                stories=hook,
            )
            print(
                f"{what}, {size / 1e6:.1f} MB on loopback; stories {stories};"
                f" RSS at start {peak_mb():.0f} MB"
            )
            results = {}
            wall, cpu, new, failed = await cycle(pipeline, sources)
            results["first poll (all new)"] = (wall, cpu, new, failed, peak_mb(), sum(per_feed))
            wall, cpu, new, failed = await cycle(pipeline, sources)
            results["all unchanged (304)"] = (wall, cpu, new, failed, peak_mb(), 0)
            version = 1
            changed = 0
            for label, share in (("10% changed", 0.1), ("all changed", 1.0)):
                changed = int(n_feeds * share)
                for f in range(changed):
                    (folder / f"f{f}.xml").write_bytes(body(f, version))
                version += 1
                wall, cpu, new, failed = await cycle(pipeline, sources)
                results[label] = (wall, cpu, new, failed, peak_mb(), sum(per_feed[:changed]))
            # the baseline: feedparser alone on the bytes of the all-changed cycle (read back
            # now, so that they do not count in the pipeline's peak RSS)
            bodies = [(folder / f"f{f}.xml").read_bytes() for f in range(changed)]
            w0, c0 = time.perf_counter(), time.process_time()
            for data in bodies:
                feedparser.parse(data, response_headers={"content-type": content_type})
            fp_wall, fp_cpu = time.perf_counter() - w0, time.process_time() - c0
        db.close()
        stack.close()
    for label, (wall, cpu, new, failed, peak, expected) in results.items():
        print(
            f"{label:22s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  new items {new:6d}"
            f" (expected {expected:6d})  failed {failed:4d}  peak RSS {peak:5.0f} MB"
        )
    full = results["all changed"][0]
    print(f"feedparser alone, same {len(bodies)} bodies: wall {fp_wall:.2f} s cpu {fp_cpu:.2f} s")
    print(f"full pipeline (all changed) vs feedparser alone: {fp_wall / full:.1f}x faster")
    # CPU time as well: on a shared machine the wall ratio moves with the others' load
    full_cpu = results["all changed"][1]
    print(f"                                     in CPU time: {fp_cpu / full_cpu:.1f}x faster")
    print(f"the relevance model was asked about {Counting.asked} items in all cycles")
    print(
        "targets: unchanged < 5 s; all changed >= 3x faster than feedparser;"
        " peak < 250 MB with the relevance model"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--content", choices=("synthetic", "real"), default="synthetic")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument(
        "--items", type=int, default=50, help="per feed; 0 with --content real: their own"
    )
    ap.add_argument("--server", choices=("process", "thread"), default="process")
    ap.add_argument("--slots", type=int, default=8, help="Pipeline.processing_slots")
    ap.add_argument("--model", default="", help="a relevance model file, or off (default: shipped)")
    ap.add_argument("--stories", choices=("off", "on", "encoder"), default="off")
    args = ap.parse_args()
    asyncio.run(
        main_async(
            args.content, args.feeds, args.items, args.server, args.slots, args.model, args.stories
        )
    )


if __name__ == "__main__":
    main()
