"""Shared helpers of the Telegram tests: record alerts the way the pipeline does, run a bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from watcher.models import Alert, Match
from watcher.notify.base import Notifier
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.store.alerts import insert_alert
from watcher.store.db import Database
from watcher.store.outbox import enqueue


class Clock:
    """A settable clock for the store's timestamps (the outbox's next_attempt_at)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record_alert(
    db: Database,
    notifier: Notifier,
    key: str,
    *,
    topics: Sequence[str] = ("repatriation",),
    title: str = "China sends North Korean defectors back",
    now: float = 1_800_000_000.0,
) -> Alert:
    """insert_alert + enqueue for the notifier's targets, in one transaction (as the pipeline)."""
    snippet = "Chinese police arrested the defectors near the border and repatriated them"
    text = "repatriated"
    start = snippet.index(text)
    match = Match(
        term="repatriat*",
        text=text,
        field="summary",
        start=start,
        end=start + len(text),
        weight=3.0,
        snippet=snippet,
    )
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=None,
            source_id="src",
            source_name="Daily NK",
            title=title,
            url=f"https://example.org/{key}",
            summary=snippet,
            language="en",
            published=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
            topics=list(topics),
            score=7.5,
            matches=[match],
            now=now,
        )
        assert alert is not None
        enqueue(tx, alert.id, notifier.kind, notifier.targets(tx, alert), now)
    return alert


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds, at most ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@asynccontextmanager
async def running_bot(
    db: Database, settings: TelegramSettings, hooks: BotHooks
) -> AsyncIterator[TelegramBot]:
    """The bot receiving updates (long polling, 1 s) until the block ends."""
    service = TelegramBot(db, settings, hooks, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.ready.wait(), 10)
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
