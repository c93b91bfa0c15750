"""The evidence archive: capture throughput and bytes stored per alert on article pages built
from the real-news fixture feeds, and case-file exports of 10,000 alerts.

    .venv/bin/python bench/bench_archive.py [--alerts 400] [--export 10000] [--pg URL]

1. Capture: one article page per item of the real feeds (the item's own title and text in a
   news-site template: navigation, inline script and style, related links; ~40-60 KB),
   served on 127.0.0.1. Baseline in the same run: fetching the same pages with the same
   fetcher and concurrency, nothing kept. Then the archiver (fetch, trafilatura text, WARC
   file, index). Reports captures/s, the ratio to the baseline, bytes on disk per alert.
2. Export: 10,000 alerts with a captured page each (snapshot files written directly), then
   ``case_rows`` + CSV and + HTML (every page sanitized into the folder). Baseline in the
   same run: ``verify`` (reads every record back and hashes it).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.archive_helpers import Clock, add_alert, archiver, enqueue_all, feeds, fetcher  # noqa: E402  # noqa: E402
from tests.servers import FeedServer  # noqa: E402
from watcher.archive import ArchiveSettings, warc  # noqa: E402
from watcher.archive.export import CaseFilter, case_rows, export  # noqa: E402
from watcher.archive.verify import verify  # noqa: E402
from watcher.models import Item  # noqa: E402
from watcher.parse.feed import parse_feed  # noqa: E402
from watcher.store import archive as store  # noqa: E402
from watcher.store.db import Database, open_database  # noqa: E402
from watcher.web.fulltext import extract_text  # noqa: E402

REAL = ROOT.parent / "shared" / "fixtures" / "feeds" / "real"
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp()


def real_items() -> list[Item]:
    out: list[Item] = []
    for path in sorted(REAL.glob("*.xml")) + sorted(REAL.glob("*.atom")):
        try:
            parsed = parse_feed(path.read_bytes(), headers={}, source_id=path.stem)
        except Exception:  # the fixtures include broken feeds on purpose
            continue
        out.extend(i for i in parsed.items if i.title and (i.content or i.summary))
    return out


def page(item: Item, n: int) -> bytes:
    """A news page around the item's real text (the boilerplate of a typical outlet)."""
    nav = "".join(f'<li><a href="/section/{k}">Section {k}</a></li>' for k in range(40))
    related = "".join(f'<li><a href="/story/{n}-{k}">Related story {k} of {n}</a></li>'
                      for k in range(25))  # fmt: skip
    body = item.content or item.summary
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p.strip())
    script = "var cfg = {" + ",".join(f'"k{k}": "{k * 7919 % 10007}"' for k in range(1500)) + "};"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(item.title)}"
        f"</title><style>body{{font:16px serif}} .nav li{{display:inline}}</style>"
        f"<script>{script}</script><link rel='stylesheet' href='https://cdn.example.net/s.css'>"
        f"</head><body><header><ul class='nav'>{nav}</ul></header><main><article>"
        f"<h1>{html.escape(item.title)}</h1><div class='byline'>Staff, item {n}</div>{paras}"
        f"<img src='https://cdn.example.net/{n}.jpg' alt='photo'></article>"
        f"<aside><h4>Related</h4><ul>{related}</ul></aside></main>"
        f"<footer>Copyright 2026 <a href='/privacy'>Privacy</a></footer>"
        f"<script src='https://ads.example.net/ad.js'></script></body></html>"
    ).encode()


async def bench_capture(db: Database, root: Path, n: int) -> None:
    items = real_items()
    pages = [page(items[i % len(items)], i) for i in range(n)]
    print(f"capture: {n} pages from {len(items)} real feed items, "
          f"{sum(map(len, pages)) / n / 1024:.1f} KB each on average")  # fmt: skip
    settings = ArchiveSettings(robots=False, concurrency=4)
    async with FeedServer(record=False) as srv:
        for i, body in enumerate(pages):
            srv.route(f"/a/{i}", body, content_type="text/html; charset=utf-8")
        urls = [srv.url(f"/a/{i}") for i in range(n)]
        async with fetcher() as f:  # baseline: the same fetches, nothing kept
            t0 = time.perf_counter()
            sem = asyncio.Semaphore(settings.concurrency)

            async def one(url: str) -> int:
                async with sem:
                    return len((await f.fetch(url, allow_private=True, capture=True)).body)

            await asyncio.gather(*(one(u) for u in urls))
            base = time.perf_counter() - t0
        for i, url in enumerate(urls):
            add_alert(db, url, title=items[i % len(items)].title)
        clock = Clock(T0)
        enqueue_all(db, T0)
        async with fetcher() as f:
            arch = archiver(db, root, f, clock=clock, settings=settings, config=feeds())
            t0 = time.perf_counter()
            while rows := store.claim(db, arch.owner, T0, settings.concurrency):
                await asyncio.gather(*(arch.process(r) for r in rows))
            took = time.perf_counter() - t0
    on_disk = sum(p.stat().st_size for p in root.rglob("*.warc.gz"))
    with db.transaction() as tx:
        snaps = tx.scalar("SELECT COUNT(*) FROM archive_snapshots")
    print(f"  baseline fetch only: {base:.2f} s ({n / base:.0f} pages/s)")
    print(f"  capture (fetch + text + WARC + index): {took:.2f} s ({n / took:.1f} alerts/s),"
          f" {took / base:.1f}x the fetch-only time")  # fmt: skip
    print(f"  {snaps} snapshots, {on_disk / n / 1024:.1f} KB stored per alert"
          f" ({on_disk / sum(map(len, pages)) * 100:.0f}% of the pages' bytes)")  # fmt: skip


def seed_export(db: Database, root: Path, n: int) -> float:
    """``n`` alerts, each with a captured page; returns the seconds it took."""
    items = real_items()
    t0 = time.perf_counter()
    with db.transaction() as tx:
        for i in range(n):
            it = items[i % len(items)]
            url = f"https://news.example.net/{it.source_id}/{i}"
            tx.execute(
                "INSERT INTO alerts (dedupe_key, source_id, source_name, title, url, summary,"
                " language, published_at, topics, score, matches, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'en', ?, '[\"repatriation\"]', 5, '[]', ?)",
                (url, it.source_id, it.source_id, it.title, url, it.summary[:300],
                 T0 + i, T0 + i),
            )  # fmt: skip
        store.enqueue_alerts(tx, 0, T0, limit=n + 1)
        caps = tx.fetchall("SELECT id, url FROM archive_captures ORDER BY id")
    for k, (cap_id, url) in enumerate(caps):
        it = items[k % len(items)]
        body = page(it, k)
        p = warc.Page(url, url, 200, "OK", "HTTP/1.1", (("Content-Type", "text/html"),), body,
                      T0 + k)  # fmt: skip
        text = extract_text(body, {"content-type": "text/html"}, url) if k < 0 else it.summary
        w = warc.write_snapshot(root, p, text=text, meta={"bench": k})
        snap = store.Snapshot(0, cap_id, w.record_id, "response", "first", url, url, 200,
                              T0 + k, p.sha256, len(body), "", "", "0" * 64, len(text),
                              w.text_record_id, w.warc_file, w.offset, w.length, w.warc_file,
                              w.text_offset, w.text_length, w.size, T0 + k)  # fmt: skip
        with db.transaction() as tx:
            sid = store.add_snapshot(tx, snap)
            store.settle(tx, cap_id, phase="done", state="live", due_at=T0, now=T0 + k,
                         snapshot_id=sid, payload_sha256=p.sha256)  # fmt: skip
    return time.perf_counter() - t0


def bench_export(db: Database, root: Path, n: int, out: Path) -> None:
    took = seed_export(db, root, n)
    print(f"export: {n} alerts with a captured page each (seeded in {took:.1f} s)")
    t0 = time.perf_counter()
    report = verify(db, root)
    base = time.perf_counter() - t0
    print(f"  baseline verify (read + hash every record): {base:.2f} s, {report.records} records")
    t0 = time.perf_counter()
    rows = case_rows(db, CaseFilter())
    export(db, root, rows, "csv", out / "case.csv")
    csv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = case_rows(db, CaseFilter())
    export(db, root, rows, "html", out / "case")
    html_s = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in (out / "case").rglob("*")) / 1e6
    print(f"  CSV:  {csv_s:.2f} s ({csv_s / base:.2f}x verify), {len(rows)} rows")
    print(f"  HTML: {html_s:.2f} s ({html_s / base:.2f}x verify), {size:.0f} MB folder")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=400)
    ap.add_argument("--export", type=int, default=10_000)
    ap.add_argument("--pg", default="", help="a postgresql:// URL (default: SQLite)")
    args = ap.parse_args()
    # on the work disk, as the archive folder would be (this machine's /tmp is much slower
    # at creating files)
    (ROOT / "state").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=ROOT / "state"))
    try:
        for name, fn in (("capture", None), ("export", None)):
            del fn
            folder = tmp / name
            folder.mkdir()
            db = open_database(args.pg or folder / "w.db")
            if args.pg:  # a clean schema each time
                with db.transaction() as tx:
                    tx.execute("DELETE FROM archive_snapshots")
                    tx.execute("DELETE FROM archive_captures")
                    tx.execute("DELETE FROM alerts")
            try:
                if name == "capture":
                    asyncio.run(bench_capture(db, folder / "archive", args.alerts))
                else:
                    bench_export(db, folder / "archive", args.export, folder)
            finally:
                db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
