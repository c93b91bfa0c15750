"""Telegram fan-out: one alert to N subscribers against a fake Bot API refusing > 30 msg/s.

Prints the total time against the physical limit (N / 30 s) and the number of 429s; the
target is <= 1.15x the limit and zero 429s.

    python bench/bench_telegram.py [--subscribers 1000]
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
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.settings import TelegramSettings
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
        notifier = TelegramNotifier(db, settings, clock=clock)
        record_alert(db, notifier, "bench-1")
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            started = time.monotonic()
            while outbox.pending_count(db, "telegram"):
                await notifier.deliver_due(bot)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-rounds", type=int, default=30)
    parser.add_argument("--db", default="", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(fan_out(args.subscribers, args.db or str(Path(tmp) / "bench.db")))
        asyncio.run(alert_to_send_latency(args.latency_rounds, str(Path(tmp) / "latency.db")))


if __name__ == "__main__":
    main()
