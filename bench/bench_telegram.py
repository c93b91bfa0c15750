"""Telegram: fan-out within the flood limits, and the latency from a feed to sendMessage.

1. One alert to N subscribers against a fake Bot API refusing > 30 msg/s: the total time
   against the physical limit (N / 30 s) and the number of 429s (target <= 1.15x, zero 429s).
2. Notifier alone: alert recorded -> sendMessage.
3. The whole of ``watcher run`` (``build_app``: scheduler, pipeline, Telegram notifier and bot)
   with S loopback feeds polled every I seconds: items appear at random moments in random
   feeds; latency from the moment an item appears to its sendMessage, p50 and p99. The
   baseline, measured in the same run, is the wait for the next poll (appearance -> the first
   request that served the item), which no implementation polling every I s can avoid; the
   rest (poll -> sendMessage) is ours. ``--stories on`` runs it as installed by default, with
   story grouping and the sentence encoder (each item then tells a development of its own:
   its own figure in the headline); ``both`` runs off, then on.

    python bench/bench_telegram.py [--subscribers 1000] [--sources 100 --interval 30]
        [--stories off|on|both]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock, record_alert
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.store import outbox, subscribers
from watcher.store.db import open_database

TOKEN = "123:BENCH"


async def fan_out(n: int, db_url: str) -> None:
    db = open_database(db_url)
    clock = Clock()
    for chat in range(1, n + 1):
        subscribers.subscribe(db, 10_000 + chat, "private", "", clock.now)
    with FakeTelegram(TOKEN, rate_per_s=30) as tg:
        settings = TelegramSettings(token=TOKEN, api_url=tg.base_url)
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            notifier = TelegramNotifier(db, settings, clock=clock, bot=bot)
            record_alert(db, notifier, "bench-1")
            started = time.monotonic()
            while outbox.pending_count(db, "telegram"):
                await notifier.deliver_due()
            elapsed = time.monotonic() - started
        delivered = sum(len(v) for v in tg.all_messages().values())
        limit = n / 30.0
        print(f"subscribers            {n}")
        print(f"delivered              {delivered}")
        print(f"total time             {elapsed:.2f} s")
        print(f"physical limit         {limit:.2f} s (n / 30 msg/s)")
        print(f"ratio                  {elapsed / limit:.3f}x (target <= 1.15x)")
        print(f"429 refusals           {tg.flood_refusals} (target 0)")
    db.close()


async def alert_to_send_latency(rounds: int, db_url: str) -> None:
    """Notifier side of the latency: alert recorded (and wake set) -> sendMessage at the API."""
    db = open_database(db_url)
    clock = Clock()
    subscribers.subscribe(db, 5, "private", "", clock.now)
    with FakeTelegram(TOKEN, rate_per_s=30) as tg:
        settings = TelegramSettings(token=TOKEN, api_url=tg.base_url)
        notifier = TelegramNotifier(db, settings, clock=clock)
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop))
        await asyncio.sleep(0.5)
        latencies: list[float] = []
        for i in range(rounds):
            await asyncio.sleep(1.05)  # the per-chat limit is 1/s: measure the path, not it
            started = time.monotonic()
            record_alert(db, notifier, f"lat-{i}")
            notifier.wake.set()
            while len(tg.messages(5)) <= i:
                await asyncio.sleep(0.001)
            latencies.append(tg.calls_of("sendMessage")[-1].at - started)
        stop.set()
        await task
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"alert -> sendMessage   p50 {p50:.1f} ms, p99 {p99:.1f} ms over {rounds} alerts")
    db.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def feed_to_send_latency(
    n_sources: int,
    interval: int,
    seconds: float,
    every: float,
    chats: int,
    tmp: Path,
    stories: bool = False,
) -> None:
    """Items appear in loopback feeds; the real app polls, scores, records and sends them."""
    import random
    from datetime import UTC, datetime

    from tests.servers.feedserver import FeedServer
    from tests.test_run_once import ALERTING, DATA, QUIET, rss
    from watcher.app import build_app
    from watcher.fetch import Fetcher
    from watcher.settings import Settings, StorySettings

    rng = random.Random(42)
    cfg = tmp / f"latency-config-{stories}"
    cfg.mkdir()
    (cfg / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
    wall0 = datetime.now(UTC)
    entries: dict[int, list[tuple[str, str, datetime | None]]] = {
        i: [(f"q{i}", QUIET, wall0)] for i in range(n_sources)
    }
    with FeedServer() as feeds, FakeTelegram(TOKEN, rate_per_s=30) as tg:
        for i in range(n_sources):
            feeds.route(f"/f{i}.xml", rss(entries[i]))
        lines = [f"defaults:\n  interval: {interval}s\n  language: en\nsources:"]
        lines += [f"  - id: f{i}\n    url: {feeds.url(f'/f{i}.xml')}" for i in range(n_sources)]
        (cfg / "feeds.yaml").write_text("\n".join(lines) + "\n")
        settings = Settings(
            config_dir=cfg,
            db=str(tmp / f"latency-state-{stories}.db"),
            sections=(
                TelegramSettings(token=TOKEN, api_url=tg.base_url),
                # off: the items repeat one headline (with grouping they would be one story);
                # on: the defaults, each item its own development (its own figure)
                StorySettings(enabled=stories),
            ),
        )
        db = open_database(settings.db_target)
        for chat in range(chats):
            subscribers.subscribe(db, 20_000 + chat, "private", "", time.time())
        db.close()
        async with Fetcher() as fetcher:
            app = build_app(settings, fetcher)
            runtime = app.runtime
            tasks = [asyncio.create_task(s.run(runtime.stop)) for s in app.services]
            while len({r.path for r in feeds.requests}) < n_sources:  # every first poll done
                await asyncio.sleep(0.2)
            published: dict[str, tuple[int, float]] = {}  # marker -> (source, wall time)
            started = time.monotonic()
            k = 0
            while time.monotonic() - started < seconds:
                await asyncio.sleep(rng.expovariate(1.0 / every))
                src = rng.randrange(n_sources)
                marker = f"case {k}"
                k += 1
                title = f"{ALERTING} {marker}"
                if stories:  # another development each time: another figure in the headline
                    title = title.replace("North Korean", f"{100 + k} North Korean", 1)
                entries[src].insert(0, (f"s{src}-{k}", title, datetime.now(UTC)))
                feeds.route(f"/f{src}.xml", rss(entries[src]))
                published[marker] = (src, time.time())
            deadline = time.monotonic() + interval + 30
            while time.monotonic() < deadline:
                texts = [str(c.params.get("text", "")) for c in tg.calls_of("sendMessage")]
                if sum(1 for t in texts if "case " in t) >= len(published) * chats:
                    break
                await asyncio.sleep(0.5)
            runtime.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            with runtime.db.transaction() as tx:
                recorded = {
                    "case " + str(t).split("case ", 1)[1]: float(at)
                    for t, at in tx.fetchall("SELECT title, created_at FROM alerts")
                }
            runtime.db.close()
        offset = time.time() - time.monotonic()  # the fake API stamps calls with monotonic time
        sends: dict[str, list[float]] = {}
        for call in tg.calls_of("sendMessage"):
            text = str(call.params.get("text", ""))
            if call.status == 200 and "case " in text:
                marker = "case " + text.split("case ", 1)[1].split("<", 1)[0].split()[0]
                sends.setdefault(marker, []).append(call.at + offset)
        total: list[float] = []
        first: list[float] = []
        wait: list[float] = []
        ours: list[float] = []
        in_burst: list[float] = []  # alerts recorded within 5 s of each one (same poll wave)
        missing = 0
        for marker, (src, at) in published.items():
            times = sends.get(marker, [])
            if len(times) < chats:
                missing += 1
            if not times:
                continue
            polled = min(
                (r.at for r in feeds.requests if r.path == f"/f{src}.xml" and r.at >= at),
                default=min(times),
            )
            wait.append(polled - at)
            if marker in recorded:  # alerts.created_at is the poll's start
                in_burst.append(sum(1 for r in recorded.values() if abs(r - recorded[marker]) < 5))
            ours.extend(t - polled for t in times)
            total.extend(t - at for t in times)
            first.append(min(times) - at)
        print(
            f"feed -> sendMessage    stories {'on' if stories else 'off'}:"
            f" {n_sources} sources every {interval} s, {len(published)} items"
            f" over {seconds:.0f} s, {chats} subscribers each ({len(total)} messages,"
            f" {missing} items not delivered to all)"
        )
        for label, values in (
            ("item -> sendMessage", total),
            ("item -> first send", first),
            ("baseline: poll wait", wait),
            ("ours: poll -> send", ours),
        ):
            print(f"  {label:22} p50 {_pct(values, 0.5):7.2f} s   p99 {_pct(values, 0.99):7.2f} s")
        print(
            f"  alerts within 5 s of each other: p50 {_pct(in_burst, 0.5):.0f}, max"
            f" {max(in_burst, default=0):.0f} (each chat takes 1 message/s: a wave of k alerts"
            " needs k s)"
        )
        p50, p99 = _pct(total, 0.5), _pct(total, 0.99)
        print(
            f"  ratio to baseline      p50 {p50 / _pct(wait, 0.5):.3f}x,"
            f" p99 {p99 / _pct(wait, 0.99):.3f}x; 429 refusals {tg.flood_refusals}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-rounds", type=int, default=30)
    parser.add_argument("--db", default="", help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--interval", type=int, default=30, help="seconds between polls")
    parser.add_argument("--seconds", type=float, default=150.0, help="how long items appear")
    parser.add_argument("--every", type=float, default=2.0, help="mean seconds between items")
    parser.add_argument("--chats", type=int, default=5, help="subscribers getting each alert")
    parser.add_argument(
        "--only", choices=("fanout", "notifier", "feed"), default=None, help="one part only"
    )
    parser.add_argument("--stories", choices=("off", "on", "both"), default="off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "fanout"):
            asyncio.run(fan_out(args.subscribers, args.db or str(Path(tmp) / "bench.db")))
        if args.only in (None, "notifier"):
            asyncio.run(alert_to_send_latency(args.latency_rounds, str(Path(tmp) / "lat.db")))
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.stories]
        for stories in modes if args.only in (None, "feed") else []:
            asyncio.run(
                feed_to_send_latency(
                    args.sources,
                    args.interval,
                    args.seconds,
                    args.every,
                    args.chats,
                    Path(tmp),
                    stories,
                )
            )


if __name__ == "__main__":
    main()
