"""Two bot instances on one PostgreSQL store: only the ``telegram-updates`` lock holder polls
getUpdates; when its database session dies (as when its process is killed) the other one takes
over, and every update is answered once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import until
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import UPDATES_LOCK, BotHooks, TelegramBot
from watcher.rules.score import load_rules
from watcher.store.db import open_database
from watcher.store.leases import SingletonLock, lock_key

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"


def kill_lock_session(url: str, name: str) -> int:
    """Terminate the PostgreSQL session holding advisory lock ``name``; returns how many."""
    key = lock_key(name)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
async def test_one_instance_polls_updates_and_another_takes_over(
    pg_url: str, tg: FakeTelegram
) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url)
    dbs = [open_database(pg_url) for _ in range(2)]
    bots = [
        TelegramBot(
            db,
            settings,
            BotHooks(rules=lambda: rules),
            poll_timeout=1,
            lock=SingletonLock(db, UPDATES_LOCK),
            leader_retry_s=0.5,
            leader_check_s=0.3,
        )
        for db in dbs
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(b.run(s)) for b, s in zip(bots, stops, strict=True)]
    try:
        await until(lambda: any(b.polling for b in bots))
        await asyncio.sleep(1.5)  # the standby has tried (and failed) to take the lock
        assert [b.polling for b in bots].count(True) == 1
        leader = 0 if bots[0].polling else 1
        standby = 1 - leader

        tg.send_user_message(42, "/start")
        await until(lambda: len(tg.messages(42)) == 1)

        assert kill_lock_session(pg_url, UPDATES_LOCK) == 1
        await until(lambda: not bots[leader].polling)  # it noticed that it lost the lock
        stops[leader].set()  # ... and that process is gone
        await asyncio.wait_for(tasks[leader], 10)
        await until(lambda: bots[standby].polling)

        tg.send_user_message(43, "/start")
        await until(lambda: len(tg.messages(43)) == 1)
        await asyncio.sleep(1.0)
        assert len(tg.messages(42)) == 1 and len(tg.messages(43)) == 1  # each answered once
    finally:
        for s in stops:
            s.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        for db in dbs:
            db.close()


async def test_instances_on_one_sqlite_file_share_the_updates_lock(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url)
    dbs = [open_database(tmp_path / "w.db") for _ in range(2)]
    bots = [
        TelegramBot(
            db,
            settings,
            BotHooks(rules=lambda: rules),
            poll_timeout=1,
            lock=SingletonLock(db, UPDATES_LOCK),
            leader_retry_s=0.3,
            leader_check_s=0.3,
        )
        for db in dbs
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(b.run(s)) for b, s in zip(bots, stops, strict=True)]
    try:
        await until(lambda: any(b.polling for b in bots))
        await asyncio.sleep(1.0)
        assert [b.polling for b in bots].count(True) == 1
        leader = 0 if bots[0].polling else 1
        stops[leader].set()
        await asyncio.wait_for(tasks[leader], 10)
        await until(lambda: bots[1 - leader].polling)
        tg.send_user_message(42, "/start")
        await until(lambda: len(tg.messages(42)) == 1)
    finally:
        for s in stops:
            s.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        for db in dbs:
            db.close()
