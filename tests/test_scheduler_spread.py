"""Sources starting together are spread out; a reload keeps each unchanged source's phase
and polls a moved one at once.

Before, every source's first poll was at start-up and each later poll one interval (plus a few
seconds of jitter) after the last, so 100 sources polled in waves: each wave brought a burst of
alerts that queued behind Telegram's per-chat limit (measured in bench/bench_telegram.py).
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from watcher.config.live import LiveConfig
from watcher.fetch import Fetcher
from watcher.pipeline import Pipeline
from watcher.runtime import Runtime
from watcher.scheduler import START_SPREAD_PER_SOURCE_S, Scheduler
from watcher.settings import Settings
from watcher.store.db import Database

DATA = Path(__file__).parent / "data" / "run"


def write_feeds(folder: Path, count: int, interval: str = "30s", moved: int = -1) -> None:
    lines = ["sources:"]
    for n in range(count):
        url = f"http://127.0.0.1:9/{n}{'-moved' if n == moved else ''}.xml"
        lines += [f"  - id: s{n}", f"    url: {url}", "    language: en"]
        lines += [f"    interval: {interval}"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", "utf-8")


def next_runs(sched: AsyncIOScheduler) -> dict[str, datetime]:
    return {j.id: j.next_run_time for j in sched.get_jobs() if j.id != "__reload__"}


async def test_start_is_spread_and_reload_keeps_phases(tmp_path: Path, memdb: Database) -> None:
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    write_feeds(tmp_path, 100)
    config = LiveConfig.load(tmp_path / "feeds.yaml", tmp_path / "keywords.yaml")
    runtime = Runtime(settings=Settings(config_dir=tmp_path), db=memdb)
    async with Fetcher() as fetcher:
        pipeline = Pipeline(memdb, fetcher, config.rules, lambda: [])
        scheduler = Scheduler(runtime, pipeline, config, rng=random.Random(7))
        scheduler._scheduler = sched = AsyncIOScheduler(timezone="UTC")
        sched.start(paused=True)
        try:
            scheduler._sync_jobs()
            first = next_runs(sched)
            offsets = sorted((t - min(first.values())).total_seconds() for t in first.values())
            assert len(offsets) == 100
            # spread over 100 x 0.2 = 20 s, not all at once; no source waits longer
            assert offsets[-1] <= 100 * START_SPREAD_PER_SOURCE_S
            assert offsets[-1] >= 15 and offsets[50] >= 5
            # a reload with one more source: the others keep their turn, the new one starts now
            write_feeds(tmp_path, 101)
            assert scheduler.config.check(force=True).status == "reloaded"
            scheduler._sync_jobs()
            again = next_runs(sched)
            assert {k: again[k] for k in first} == first
            assert (again["s100"] - min(first.values())).total_seconds() < 5
            # a changed interval reschedules that source only
            write_feeds(tmp_path, 101, interval="10m")
            assert scheduler.config.check(force=True).status == "reloaded"
            scheduler._sync_jobs()
            assert next_runs(sched)["s1"] != first["s1"]
            # a moved source (new URL) is polled now, the others keep their turn
            before = next_runs(sched)
            write_feeds(tmp_path, 101, interval="10m", moved=7)
            assert scheduler.config.check(force=True).status == "reloaded"
            scheduler._sync_jobs()
            after = next_runs(sched)
            assert after["s7"] < before["s7"] and after["s7"] <= datetime.now(UTC)
            assert {k: v for k, v in after.items() if k != "s7"} == {
                k: v for k, v in before.items() if k != "s7"
            }
        finally:
            sched.shutdown(wait=False)
