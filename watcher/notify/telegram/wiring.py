"""Wiring Telegram into ``watcher run``: the notifier and the bot service, from the runtime.

``watcher.app`` calls ``telegram_parts(runtime, rules)`` when ``settings.telegram.enabled``,
adds the notifier to its notifiers (it is a Service too) and the bot to its services; the bot
is registered as a notice listener here so admins hear about failing sources.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.rules.score import Rules
from watcher.runtime import Runtime


def telegram_parts(
    runtime: Runtime,
    rules: Callable[[], Rules],
    reload: Callable[[], Awaitable[str]] | None = None,
) -> tuple[TelegramNotifier, TelegramBot]:
    settings = runtime.settings.telegram
    notifier = TelegramNotifier(runtime.db, settings, owner=runtime.instance_id)
    bot = TelegramBot(runtime.db, settings, BotHooks(rules=rules, reload=reload))
    runtime.listeners.append(bot.on_notice)
    return notifier, bot
