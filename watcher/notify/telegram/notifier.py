"""The Telegram notifier: the outbox's "telegram" rows through the Bot API, within its limits.

It implements the notifier contract (``watcher.notify.base``); the base paces, retries, marks
and counts. What Telegram answers becomes:

* 429 (RetryAfter): ``Retry(pause_all)``: every send pauses for ``retry_after``, then again;
* 5xx, time-outs, dropped connections: ``Retry``, with the one back-off;
* 403 (blocked, kicked) or "chat not found": the subscriber is deactivated, ``Gone``;
* other 400s (a message Telegram refuses): ``Gone`` with the reason.

Limits (the pacer, shared with the bot's replies): 30 messages/s overall paced at 97 %, 1/s per
chat, 20/min per group or channel. ``edit:<report>`` rows (a later report of a story,
``watcher.stories.hook``) rewrite the message already sent for the story's first alert with
editMessageText: "message is not modified" counts as sent, "message to edit not found" ends the
row, and an edit whose message is not sent yet is a ``Retry`` after ``EDIT_WAIT_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from watcher.errors import DeliveryError
from watcher.models import Alert
from watcher.notify.base import (
    Context,
    Gone,
    NotifierSettings,
    OutboxNotifier,
    Outcome,
    Retry,
    Sent,
    Summary,
)
from watcher.notify.i18n import DEFAULT
from watcher.notify.pacing import Limits, Pacer
from watcher.notify.telegram import Channel, TelegramSettings, parse_channel
from watcher.notify.telegram.format import Reader, format_alert, format_summary
from watcher.store import outbox, subscribers
from watcher.store.db import Database, Tx
from watcher.store.outbox import OutboxRow
from watcher.store.stories import send_state
from watcher.stories.hook import EDIT_PREFIX

if TYPE_CHECKING:  # python-telegram-bot is imported when Telegram is used, not at start
    from telegram import Bot, InlineKeyboardMarkup
    from telegram.error import RetryAfter, TelegramError

    from watcher.ops.metrics import Metrics

log = logging.getLogger(__name__)

LIMITS = Limits(per_s=30, interval_s=1.0, window_n=20, window_s=60.0)
GONE_MARKERS = ("chat not found", "user is deactivated", "bot was kicked", "chat_id is empty")
NOT_MODIFIED = "message is not modified"  # an edit found the text as it should be: done
EDIT_WAIT_S = 30.0  # an edit whose message is not sent yet looks again after this


def is_group_target(target: str) -> bool:
    return target.startswith("@") or target.startswith("-")


def telegram_pacer() -> Pacer:
    """The Bot API's limits, for one token (the notifier and the bot share one)."""
    return Pacer(LIMITS, is_group_target)


def make_bot(settings: TelegramSettings, pool_size: int = 40) -> Bot:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connection_pool_size=pool_size, read_timeout=15.0, pool_timeout=30.0)
    return Bot(settings.token, base_url=settings.api_url, request=request)


def unusable(exc: TelegramError, settings: TelegramSettings) -> DeliveryError:
    """Why the Bot API cannot be used at all, in one line without the token."""
    from telegram.error import InvalidToken

    if isinstance(exc, InvalidToken):
        return DeliveryError(
            "Telegram rejected the bot token (WATCHER_TELEGRAM_TOKEN): check it with @BotFather"
        )
    detail = str(exc).replace(settings.token, "***") if settings.token else str(exc)
    return DeliveryError(f"Telegram Bot API unreachable at {settings.api_url}: {detail}")


Titles = Callable[[str], Mapping[str, str]]  # language -> topic id -> title


def chat_reader(
    db: Database,
    target: str,
    admins: Sequence[int],
    titles: Titles | None,
    channels: Sequence[Channel] = (),
) -> Reader:
    """How ``target`` reads alerts: a configured channel in its configured language and time
    zone, a chat in its stored ones with its /details choice (the bot's admins see the
    details until they turn them off)."""
    channel = configured_channel(channels, {target})
    chat = int(target) if target.lstrip("-").isdigit() else None
    sub = subscribers.get(db, chat) if chat is not None and channel is None else None
    lang = channel.lang if channel is not None else sub.lang if sub is not None else DEFAULT
    chosen = sub.details if sub is not None else None
    return Reader(
        lang=lang,
        tz=channel.tz if channel is not None else sub.tz if sub is not None else "",
        details=chat in admins if chosen is None else chosen,
        titles=titles(lang) if titles is not None else {},
    )


def configured_channel(channels: Sequence[Channel], names: set[str]) -> Channel | None:
    """The configured channel one of ``names`` (a chat id, "@name") is, if any; Telegram's
    usernames are case-insensitive."""
    folded = {n.casefold() for n in names}
    return next((c for c in channels if c.address.casefold() in folded), None)


def shared_lang(
    db: Database, chat_id: int, username: str | None, channels: Sequence[Channel]
) -> str:
    """The language of a group's or channel's keyboards (every member sees the same one):
    the configured channel's, else the chat's stored one."""
    channel = configured_channel(channels, {str(chat_id), *([f"@{username}"] if username else [])})
    if channel is not None:
        return channel.lang
    sub = subscribers.get(db, chat_id)
    return sub.lang if sub is not None else DEFAULT


def retry_after_s(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22.2+ warns that it becomes a timedelta
        warnings.simplefilter("ignore")
        wait = exc.retry_after
    return float(wait) if isinstance(wait, int | float) else wait.total_seconds()


class TelegramNotifier(OutboxNotifier):
    kind = "telegram"
    settings_model = TelegramSettings
    concurrency = 30
    lease_s = 120.0
    hold_s = 10.0  # rows of a chat due within this wait in memory (1/s: ten of them)
    settings: TelegramSettings

    def __init__(
        self,
        db: Database,
        settings: TelegramSettings,
        *,
        owner: str = "",
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        pacer: Pacer | None = None,
        bot: Bot | None = None,
        titles: Titles | None = None,
    ) -> None:
        super().__init__(
            db, settings, owner=owner, clock=clock, metrics=metrics, pacer=pacer or telegram_pacer()
        )
        self.channels = tuple(parse_channel(c) for c in settings.channels)
        self._own_bot = bot is None  # given (tests, benchmarks): its owner opens it
        self.bot = bot or make_bot(settings, self.concurrency + 10)
        self.flood_waits = 0
        self.titles = titles  # of the rules in force (a reload renames topics)

    @classmethod
    def build(cls, settings: NotifierSettings, ctx: Context) -> TelegramNotifier:
        """The notifier, and the bot as one more service sharing its pacer (one token)."""
        from watcher.notify.telegram.bot import build_bot

        assert isinstance(settings, TelegramSettings)
        runtime = ctx.runtime
        rules = ctx.rules
        notifier = cls(
            runtime.db,
            settings,
            owner=runtime.instance_id,
            metrics=runtime.metrics,
            titles=None if rules is None else (lambda lang: rules().titles_in(lang)),
        )
        ctx.services.append(build_bot(settings, ctx, notifier.pacer))
        return notifier

    def describe(self) -> str:
        """For the start-up summary: who gets the alerts."""
        active = subscribers.count_active(self.db)
        channels = ", ".join(c.describe() for c in self.channels)
        return f"Telegram ({active} subscribers; channels: {channels or 'none'})"

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        now = self.clock()
        chats = [str(s.chat_id) for s in subscribers.active_in_tx(tx) if s.wants(alert.topics, now)]
        chats += [c.address for c in self.channels if c.wants(alert.topics)]
        return chats

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        from telegram.error import TelegramError

        if not self._own_bot:
            yield
            return
        try:
            await self.bot.initialize()  # getMe: a rejected token or no Bot API ends here
        except TelegramError as exc:
            raise unusable(exc, self.settings) from None
        try:
            yield
        finally:
            await self.bot.shutdown()

    async def send(self, row: OutboxRow, alert: Alert | Summary) -> Outcome:
        from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

        from watcher.notify.telegram.feedback import kept_keyboard
        from watcher.notify.telegram.votes import vote_keyboard

        chat: int | str = int(row.target) if row.target.lstrip("-").isdigit() else row.target
        edit_of: int | None = None
        if row.action.startswith(EDIT_PREFIX):
            status, ref = await asyncio.to_thread(
                send_state, self.db, row.alert_id, self.kind, row.target
            )
            if status == outbox.PENDING:  # sent later, with the outlets known by then
                return Retry("message not sent yet", after=EDIT_WAIT_S)
            if status != outbox.SENT or ref is None or not ref.isdigit():
                return Gone("no message to edit")
            edit_of = int(ref)
        reader = await asyncio.to_thread(
            chat_reader, self.db, row.target, self.settings.admins, self.titles, self.channels
        )
        if isinstance(alert, Summary):
            text = format_summary(alert, reader)
        else:
            text = format_alert(alert, reader)
        markup = None
        if isinstance(alert, Alert):
            markup = vote_keyboard(alert.id, reader.lang)
            if edit_of is not None:  # the edit sends the keyboard again: as it was
                markup = await asyncio.to_thread(
                    kept_keyboard,
                    self.db,
                    alert.id,
                    alert.item_id,
                    row.target,
                    reader.lang,
                    reader.titles,
                )
        try:
            return await self._call(self.bot, chat, text, edit_of, markup)
        except RetryAfter as exc:
            self.flood_waits += 1
            return Retry("flood control", after=retry_after_s(exc), pause_all=True)
        except Forbidden as exc:
            return await self._gone(row, str(exc))
        except BadRequest as exc:
            reason = str(exc)
            if edit_of is not None and NOT_MODIFIED in reason.lower():
                return Sent(str(edit_of))  # the message already says it
            if any(m in reason.lower() for m in GONE_MARKERS):
                return await self._gone(row, reason)
            return Gone(reason)  # the message itself was refused: retrying would not help
        except TelegramError as exc:  # 5xx, time-outs, dropped connections (NetworkError)
            return Retry(str(exc))

    async def _call(
        self,
        bot: Bot,
        chat: int | str,
        text: str,
        edit_of: int | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Outcome:
        """Send the message, or edit it (an edit without the keyboard would remove it)."""
        from telegram import LinkPreviewOptions
        from telegram.constants import ParseMode

        no_preview = LinkPreviewOptions(is_disabled=True)
        if edit_of is None:
            message = await bot.send_message(
                chat,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=no_preview,
                reply_markup=markup,
            )
            return Sent(str(message.message_id))
        await bot.edit_message_text(
            text,
            chat_id=chat,
            message_id=edit_of,
            parse_mode=ParseMode.HTML,
            link_preview_options=no_preview,
            reply_markup=markup,
        )
        return Sent(str(edit_of))

    async def _gone(self, row: OutboxRow, reason: str) -> Gone:
        """The chat refuses for good: no more alerts are queued for it."""
        if row.target.lstrip("-").isdigit():
            await asyncio.to_thread(
                subscribers.deactivate, self.db, int(row.target), reason, self.clock()
            )
        return Gone(reason)
