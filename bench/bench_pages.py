"""Response time of the maintainer pages on a SQLite store with 10,000 alerts, /healthz as the
baseline in the same run.

The store is filled first: ``--alerts`` alerts over the last 30 days from 60 sources, each sent
to two Telegram chats (two outbox rows), one in three in a story with two more reports, one in
ten with votes on its item. ``watcher web`` (the real app, uvicorn on 127.0.0.1) serves it in a
thread; one client asks each route ``--requests`` times in turn, one request at a time.

    python bench/bench_pages.py                     # 10,000 alerts, 100 requests a route
    python bench/bench_pages.py --alerts 50000 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from watcher.notify.kinds import load_settings
from watcher.pages.service import run_web
from watcher.store import open_database
from watcher.store import outbox as ob
from watcher.store.alerts import insert_alert
from watcher.store.db import Tx
from watcher.store.labels import record_vote
from watcher.store.stories import add_report, create_story, set_first_alert

SOURCES = 60
ROUTES = ("/healthz", "/alerts", "/alerts?before={mid}", "/sources")


def write_config(folder: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    (folder / "keywords.yaml").write_text((root / "keywords.yaml").read_text("utf-8"), "utf-8")
    lines = ["sources:"]
    for i in range(SOURCES):
        lines += [f"  - id: src-{i}", f"    url: https://news{i}.example.org/feed"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", "utf-8")


def fill(db_path: Path, alerts: int, now: float) -> int:
    """The store as described above; returns the id in the middle (a page deep in history)."""
    db = open_database(db_path)
    ids = []
    with db.transaction() as tx:
        for i in range(alerts):
            at = now - 30 * 86400 * (alerts - i) / alerts
            source = f"src-{i % SOURCES}"
            tx.execute(
                "INSERT INTO items (source_id, guid, url, title, first_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (source, f"g{i}", f"https://news.example.org/{i}", f"Item {i}", at),
            )
            item_id = int(tx.scalar("SELECT MAX(id) FROM items"))
            story = None
            if i % 3 == 0:
                story = create_story(tx, title=f"Story {i}", topics=["forced_labor"], score=6.0,
                                     now=at)  # fmt: skip
            alert = insert_alert(
                tx, dedupe_key=f"k{i}", item_id=item_id, source_id=source, source_name=source,
                title=f"North Korean workers report {i}", url=f"https://news.example.org/{i}",
                summary="A report.", language="en", published=datetime.fromtimestamp(at, UTC),
                topics=["forced_labor"], score=6.0, matches=[], now=at, story_id=story,
            )  # fmt: skip
            assert alert is not None
            ob.enqueue(tx, alert.id, "telegram", ["1001", "1002"], at)
            if story is not None:
                _reports(tx, story, alert.id, i, at)
            ids.append((alert.id, item_id))
    for alert_id, item_id in ids[::10]:
        record_vote(db, voter="7", role="user", channel="telegram", item_id=item_id,
                    verdict="relevant", alert_id=alert_id, now=now)  # fmt: skip
    db.close()
    return ids[len(ids) // 2][0]


def _reports(tx: Tx, story: int, alert_id: int, i: int, at: float) -> None:
    """The alert founded ``story``; two other outlets reported it too."""
    set_first_alert(tx, story, alert_id)
    for n, outlet in enumerate(("Yonhap", "RFA")):
        add_report(
            tx, story, item_id=None, source_id=f"other-{n}", source_name=outlet,
            url=f"https://{outlet.lower()}.example/{i}", title=f"Report {i}", summary="",
            language="ko", topics=["forced_labor"], score=5.0,
            published=datetime.fromtimestamp(at, UTC), now=at,
        )  # fmt: skip


class Server:
    def __init__(self, folder: Path, port: int) -> None:
        self.settings = load_settings({"WATCHER_CONFIG_DIR": str(folder)})
        self.port = port
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.stop, self.loop = asyncio.Event(), asyncio.get_running_loop()
        await run_web(self.settings, self.port, self.stop)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("watcher web did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)


def measure(base: str, route: str, requests: int) -> dict[str, float]:
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        warm = client.get(route)  # templates compiled, the store's pages in SQLite's cache
        size, wire = len(warm.content), warm.num_bytes_downloaded
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(route)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (route, response.status_code)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "per_s": 1000 / statistics.mean(times),
        "kb": size / 1024,
        "wire_kb": wire / 1024,  # gzipped when over 4 KB
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--port", type=int, default=18_931)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_config(folder)
        (folder / "state").mkdir()
        started = time.perf_counter()
        mid = fill(folder / "state" / "watcher.db", args.alerts, time.time())
        print(f"store: {args.alerts:,} alerts filled in {time.perf_counter() - started:.1f} s")
        results = {}
        with Server(folder, args.port) as server:
            base = f"http://127.0.0.1:{server.port}"
            for route in ROUTES:
                results[route] = measure(base, route.format(mid=mid), args.requests)
        baseline = results["/healthz"]["median_ms"]
        for route, r in results.items():
            print(
                f"{route:24} median {r['median_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms"
                f"  {r['per_s']:6.0f}/s  {r['kb']:6.1f} KB ({r['wire_kb']:5.1f} sent)"
                f"  x{r['median_ms'] / baseline:.1f}"
            )
        print(json.dumps({"alerts": args.alerts, "results": results}, indent=None))


if __name__ == "__main__":
    main()
