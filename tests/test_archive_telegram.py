"""Where admins see the archive in Telegram (the real PTB Application against the fake Bot
API): /status ends with its health, /explain URL shows an alerted article's capture state, and
the removed/changed notices have their labels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.archive_helpers import (
    COURT,
    T0,
    Clock,
    add_alert,
    archiver,
    enqueue_all,
    fetcher,
    run_due,
)
from tests.servers import FeedServer
from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import until
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.status import status_text
from watcher.rules.score import load_rules
from watcher.store.db import Database, open_database

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 900


@pytest.fixture
async def archived(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    db = open_database(tmp_path / "w.db")
    async with FeedServer() as srv:
        srv.route("/a/1", COURT, content_type="text/html; charset=utf-8")
        url = srv.url("/a/1")
        add_alert(db, url, title="Russia hands North Korean defector back to Pyongyang")
        enqueue_all(db, T0.timestamp())
        async with fetcher() as f:
            arch = archiver(db, tmp_path / "archive", f, clock=Clock(T0.timestamp()))
            await run_due(arch, db, T0.timestamp())
    yield db, url
    db.close()


async def test_status_explain_and_notices(tg: FakeTelegram, archived: tuple[Database, str]) -> None:
    db, url = archived
    rules = load_rules(ROOT / "keywords.yaml")
    settings = TelegramSettings(token="123:TEST", api_url=tg.base_url, admins=(ADMIN,))
    hooks = BotHooks(
        rules=lambda: rules, status=lambda: status_text(db, [], archive_max_day_bytes=10**9)
    )
    bot = TelegramBot(db, settings, hooks, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    try:
        await asyncio.wait_for(bot.ready.wait(), 10)
        tg.send_user_message(ADMIN, "/status")
        await until(lambda: len(tg.messages(ADMIN)) == 1)
        assert "Archive: 1 pages kept (1 copies)" in tg.messages(ADMIN)[0]["text"]
        tg.send_user_message(ADMIN, f"/explain {url}")
        await until(lambda: len(tg.messages(ADMIN)) == 2)
        reply = tg.messages(ADMIN)[1]["text"]
        assert "archived 2026-11-20 09:00 UTC" in reply and ", live" in reply
        assert "Pyongyang" in reply  # the stored alert's text is explained, not the URL
        tg.send_user_message(ADMIN, "/explain https://never.example.net/a")
        await until(lambda: len(tg.messages(ADMIN)) == 3)
        assert "archive: no capture of this URL" in tg.messages(ADMIN)[2]["text"]
        await bot.on_notice("article_removed", "removed: T; archived copy kept")
        assert tg.messages(ADMIN)[3]["text"].startswith("<b>🗑 Article removed</b>")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_bot_of_watcher_run_shows_the_archive_in_status(
    tg: FakeTelegram, archived: tuple[Database, str], enabled: bool
) -> None:
    """The bot ``build_notifiers`` makes for ``watcher run``: /status ends with the archive's
    health unless WATCHER_ARCHIVE=false."""
    from watcher.archive import ArchiveSettings
    from watcher.config.feeds import FeedsConfig
    from watcher.notify.base import Context
    from watcher.notify.kinds import build_notifiers
    from watcher.runtime import Runtime
    from watcher.settings import Settings

    db, _url = archived
    rules = load_rules(ROOT / "keywords.yaml")
    telegram = TelegramSettings(token="123:TEST", api_url=tg.base_url, admins=(ADMIN,))
    settings = Settings(sections=(telegram, ArchiveSettings(enabled=enabled)))
    ctx = Context(Runtime(settings=settings, db=db), rules=lambda: rules, feeds=FeedsConfig)
    build_notifiers(ctx)
    [bot] = ctx.services
    assert isinstance(bot, TelegramBot)
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    try:
        await asyncio.wait_for(bot.ready.wait(), 10)
        tg.send_user_message(ADMIN, "/status")
        await until(lambda: len(tg.messages(ADMIN)) == 1)
        shown = "Archive: 1 pages kept (1 copies)" in tg.messages(ADMIN)[0]["text"]
        assert shown is enabled
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
