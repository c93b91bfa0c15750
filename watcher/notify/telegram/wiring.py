"""Wiring Telegram into ``watcher run``: the notifier and the bot service, from the runtime.

``watcher.app`` calls ``telegram_parts(runtime, rules, reload=..., feeds=...)`` when
``settings.telegram.enabled``, adds the notifier to its notifiers (it is a Service too) and the
bot to its services. The bot is registered as a notice listener here so admins hear about
failing sources and invalid configuration; it polls for updates only while this instance holds
the ``telegram-updates`` lock (one getUpdates consumer per bot, another instance takes over
when the holder dies).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from watcher.config.feeds import FeedsConfig
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.notify.telegram.status import status_text
from watcher.rules.score import Rules
from watcher.runtime import Runtime
from watcher.store.leases import SingletonLock

UPDATES_LOCK = "telegram-updates"


def telegram_parts(
    runtime: Runtime,
    rules: Callable[[], Rules],
    reload: Callable[[], Awaitable[str]] | None = None,
    feeds: Callable[[], FeedsConfig] | None = None,
) -> tuple[TelegramNotifier, TelegramBot]:
    settings = runtime.settings.telegram
    db = runtime.db
    notifier = TelegramNotifier(db, settings, owner=runtime.instance_id)
    archive = runtime.settings.archive
    day_cap = archive.max_day_bytes if archive.enabled else None
    status = (
        None
        if feeds is None
        else (lambda: status_text(db, feeds().enabled_sources, archive_max_day_bytes=day_cap))
    )
    bot = TelegramBot(
        db,
        settings,
        BotHooks(rules=rules, reload=reload, status=status),
        lock=SingletonLock(db, UPDATES_LOCK),
    )
    runtime.listeners.append(bot.on_notice)
    return notifier, bot
