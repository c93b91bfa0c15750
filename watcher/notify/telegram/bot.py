"""The Telegram bot: self-service commands for subscribers, a few more for admins.

Runs python-telegram-bot 22's ``Application`` inside our own event loop (no PTB JobQueue; the
one scheduler is ours): ``initialize``/``start``/``updater.start_polling`` and the reverse on
stop. Everything a chat chooses is stored (``watcher.store.subscribers``), so it survives
restarts; the notifier reads it when an alert is recorded.

Commands: /start /stop /topics (inline keyboard toggles) /mute [8h] /unmute /recent /lang /tz
/details /help; admins also /status /explain TEXT|URL|ID /reload /review. The buttons under
alerts and near misses are handled in ``feedback.py``. Admins get operator notices
(source_failing, source_recovered, config_invalid, config_reloaded) as messages. In a group,
only the group's administrators (getChatMember) may /stop, /mute, /unmute, /lang, /tz, /details
or change /topics.

The bot answers in the chat's language (``watcher.notify.i18n``): the one chosen with /lang,
else the Telegram language of whoever writes to it, which the chat's alerts then follow too.

Replies go through the same pacer as alerts (one bot token, one set of limits): a chat that
writes faster than Telegram lets us answer gets no answer to the extra commands, which are not
processed either, so a flood from one chat costs others nothing. Replies are sent in tasks of
their own, so a reply waiting for its chat's slot never holds up the next update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from watcher.backoff import backoff_delay
from watcher.durations import parse_duration
from watcher.models import LANGUAGES
from watcher.notify.base import Context
from watcher.notify.i18n import DEFAULT, language_of, say
from watcher.notify.pacing import Pacer
from watcher.notify.telegram import TelegramSettings, parse_channel
from watcher.notify.telegram.explain import FetchArticle, explain, fetch_article
from watcher.notify.telegram.feedback import Feedback
from watcher.notify.telegram.format import MAX_LENGTH, Reader, format_recent, local_time
from watcher.notify.telegram.notifier import (
    retry_after_s,
    shared_lang,
    telegram_pacer,
    unusable,
)
from watcher.notify.telegram.status import status_text
from watcher.notify.telegram.webhook import WebhookServer, webhook_path, webhook_secret
from watcher.ops.leader import CHECK_S, RETRY_S, run_while_leader
from watcher.relevance.decide import Relevance
from watcher.rules.score import Rules
from watcher.settings import known_zone, zones_like
from watcher.store import outbox, subscribers
from watcher.store.alerts import recent_alerts
from watcher.store.db import Database
from watcher.store.leases import SingletonLock
from watcher.stories.reporters import one_per_story

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

# the menu; each described in each language by the catalogue's "cmd_<name>"
USER_COMMANDS = (
    "start", "stop", "topics", "mute", "unmute", "recent", "lang", "tz", "details", "help"
)  # fmt: skip
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
RECENT_STORIES = 10  # lines of /recent
GROUP_TYPES = ("group", "supergroup")
GROUP_ADMIN_STATUSES = ("creator", "administrator")
REPLY_HOLD_S = 3.0  # a command whose reply would wait longer than this is dropped
UPDATES_LOCK = "telegram-updates"
NOTICE_KINDS = {
    "source_failing": "⚠️ Source failing",
    "source_recovered": "✅ Source recovered",
    "config_invalid": "❌ Configuration invalid",
    "config_reloaded": "🔄 Configuration reloaded",
    "article_removed": "🗑 Article removed",
    "article_changed": "✏️ Article changed",
}
MUTE_DEFAULT_S = 8 * 3600.0
MUTE_MAX_S = 365 * 86400.0


def mute_seconds(text: str) -> float | None:
    """Seconds in "8h", "30m", "2d", "3" (hours: people mute for hours); none given: 8 h;
    None when unreadable or out of range."""
    if not text.strip():
        return MUTE_DEFAULT_S
    try:
        seconds = parse_duration(text, bare="h")
    except ValueError:
        return None
    return seconds if 0 < seconds <= MUTE_MAX_S else None


def topics_keyboard(
    topic_ids: Sequence[str], titles: dict[str, str], chosen: Sequence[str]
) -> InlineKeyboardMarkup:
    """One toggle button per topic; none chosen means every topic."""
    rows = []
    for topic in topic_ids:
        mark = "✅" if not chosen or topic in chosen else "▫️"
        rows.append(
            [InlineKeyboardButton(f"{mark} {titles.get(topic, topic)}", callback_data=f"t:{topic}")]
        )
    return InlineKeyboardMarkup(rows)


@dataclass
class BotHooks:
    """What the bot needs from the rest of the app (all optional but ``rules``)."""

    rules: Callable[[], Rules]
    reload: Callable[[], Awaitable[str]] | None = None
    status: Callable[[], str] | None = None
    scorer: Callable[[], Relevance] | None = None  # /explain: the rules and the model in force
    fetch_article: FetchArticle | None = None  # /explain URL of an item not stored


class TelegramBot:
    """The bot as a ``Service`` (``name``, ``run(stop)``) for ``watcher run``."""

    name = "telegram-bot"

    def __init__(
        self,
        db: Database,
        settings: TelegramSettings,
        hooks: BotHooks,
        *,
        poll_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        lock: SingletonLock | None = None,
        leader_retry_s: float = RETRY_S,
        leader_check_s: float = CHECK_S,
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.pacer = pacer or telegram_pacer()
        self.dropped = 0  # commands not answered: their chat wrote faster than we may answer
        self._replies: set[asyncio.Task[None]] = set()
        self.lock = lock
        self.leader_retry_s = leader_retry_s
        self.leader_check_s = leader_check_s
        self.polling = False  # True while this instance receives updates (getUpdates/webhook)
        self.webhook: WebhookServer | None = None  # in webhook mode, while receiving
        self.settings = settings
        self.hooks = hooks
        self.poll_timeout = poll_timeout
        self.clock = clock
        self.admins = frozenset(settings.admins)
        channels = tuple(parse_channel(c) for c in settings.channels)
        self.feedback = Feedback(
            db,
            self.admins,
            hooks.rules,
            self._reply,
            clock,
            self.pacer,
            lang=self._lang,
            keyboard_lang=lambda chat: shared_lang(db, chat.id, chat.username, channels),
        )
        self.application = self._build()
        self.ready = asyncio.Event()
        self._runs = 0

    def _build(self) -> Application:  # type: ignore[type-arg]
        app = (
            Application.builder()
            .token(self.settings.token)
            .base_url(self.settings.api_url)
            .job_queue(None)
            .build()
        )
        for command, handler in (
            ("start", self.cmd_start),
            ("stop", self.cmd_stop),
            ("topics", self.cmd_topics),
            ("mute", self.cmd_mute),
            ("unmute", self.cmd_unmute),
            ("recent", self.cmd_recent),
            ("lang", self.cmd_lang),
            ("tz", self.cmd_tz),
            ("details", self.cmd_details),
            ("help", self.cmd_help),
            ("status", self.cmd_status),
            ("explain", self.cmd_explain),
            ("reload", self.cmd_reload),
            ("review", self.cmd_review),
        ):
            app.add_handler(CommandHandler(command, self._paced(handler)))
        app.add_handler(CallbackQueryHandler(self._paced(self.on_topic_button), pattern=r"^t:"))
        # every other button (votes, reviews, and data that is not ours: answered politely);
        # not paced by chat: a channel busy with alerts must not drop its readers' votes
        app.add_handler(CallbackQueryHandler(self.feedback.on_button))
        app.add_error_handler(self.on_error)
        return app

    def _paced(self, handler: Handler) -> Handler:
        """``handler``, skipped when its chat could not get an answer soon (a flood)."""

        async def paced(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is not None:
                now = time.monotonic()
                if self.pacer.ready_at(str(chat.id), now) - now > REPLY_HOLD_S:
                    self.dropped += 1
                    log.debug("chat %s writes faster than we may answer: update dropped", chat.id)
                    return
            await handler(update, ctx)

        return paced

    async def on_error(self, update: object, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's error handler: one line for Telegram's refusals, a traceback for our bugs."""
        exc = ctx.error
        if isinstance(exc, RetryAfter):
            self.pacer.pause(time.monotonic() + retry_after_s(exc))
            log.warning("Telegram asked the bot to slow down: %s", exc)
        elif isinstance(exc, TelegramError):
            log.warning("Telegram refused a reply: %s", exc)
        else:
            log.error("handling a Telegram update failed", exc_info=exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect (retrying while the Bot API is unreachable), then receive updates.

        Updates come by long polling, or by webhook when ``webhook_url`` is set. With a
        ``lock`` only the instance holding it receives them (Telegram allows one getUpdates
        consumer per bot); the others stay connected for admin notices and take over within
        ``leader_retry_s`` when the holder dies.
        """
        if self._runs:  # restarted after a failure: a fresh Application, not one left half-stopped
            self.application = self._build()
        self._runs += 1
        if not await self._initialize(stop):
            return
        try:
            if self.lock is None:
                await self._receive_updates(stop)
            else:
                await run_while_leader(
                    self.lock,
                    self._receive_updates,
                    stop,
                    retry_s=self.leader_retry_s,
                    check_s=self.leader_check_s,
                )
        finally:
            await self.application.shutdown()

    async def _initialize(self, stop: asyncio.Event) -> bool:
        failures = 0
        said = ""
        while not stop.is_set():
            try:
                await self.application.initialize()  # getMe
                if said:
                    log.info("Telegram Bot API reachable again")
                return True
            except TelegramError as exc:
                failures += 1
                delay = backoff_delay(failures, base=1.0, cap=300.0)
                why = str(unusable(exc, self.settings))
                if why != said:  # said once, not again at every retry
                    log.error("%s; retrying (every %.0f s at most)", why, 300.0)
                    said = why
                if isinstance(exc, InvalidToken):  # waiting will not heal it: look rarely
                    delay = 300.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        return False

    async def _receive_updates(self, stop: asyncio.Event) -> None:
        app = self.application
        try:
            for lang in LANGUAGES:  # the menu in each language; English for the others
                menu = [BotCommand(c, say(lang, f"cmd_{c}")) for c in USER_COMMANDS]
                await app.bot.set_my_commands(menu, language_code=None if lang == DEFAULT else lang)
        except TelegramError as exc:  # not fatal: commands still work when typed
            log.warning("setMyCommands failed: %s", exc)
        await app.start()
        try:
            if self.settings.webhook_url:
                await self._receive_webhook(stop)
                return
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=int(self.poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
            self.polling = True
            self.ready.set()
            try:
                await stop.wait()
            finally:
                self.polling = False
                self.ready.clear()
                await app.updater.stop()
        finally:
            await app.stop()

    async def _receive_webhook(self, stop: asyncio.Event) -> None:
        """Webhook mode: Telegram POSTs updates to ``webhook_url`` (a proxy forwards them here)."""
        settings = self.settings
        secret = webhook_secret(settings.token, settings.webhook_secret)
        server = WebhookServer(
            self.application,
            path=webhook_path(settings.webhook_url),
            secret=secret,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
        )
        await server.start()
        self.webhook = server
        try:
            await self.application.bot.set_webhook(
                settings.webhook_url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
            self.polling = True
            self.ready.set()
            await stop.wait()
        finally:
            self.polling = False
            self.ready.clear()
            await server.stop()

    # -- operator notices --------------------------------------------------------------
    async def on_notice(self, kind: str, text: str) -> None:
        """A ``Runtime`` notice listener: tell every admin."""
        label = NOTICE_KINDS.get(kind, kind)
        message = f"<b>{_e(label)}</b>\n{_e(text)}"[:MAX_LENGTH]
        for admin in sorted(self.admins):
            try:
                await self.application.bot.send_message(admin, message, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                log.warning("notice to admin %s failed: %s", admin, exc)

    # -- helpers -----------------------------------------------------------------------
    async def _reply(self, update: Update, text: str, **kwargs: object) -> None:
        """Answer in a task of its own at the chat's next slot (the handler returns now)."""
        message = update.effective_message
        if message is None:
            return
        at = self.pacer.reserve(str(message.chat_id), time.monotonic(), float("inf")) or 0.0
        task = asyncio.create_task(self._send_reply(message, at, text, kwargs))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _send_reply(
        self, message: Message, at: float, text: str, kwargs: dict[str, object]
    ) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        while (wait := self.pacer.global_wait(time.monotonic())) > 0:
            await asyncio.sleep(wait)
        self.pacer.record_global(time.monotonic())
        try:
            await message.reply_text(
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                **kwargs,  # type: ignore[arg-type]
            )
        except RetryAfter as exc:
            self.pacer.pause(time.monotonic() + retry_after_s(exc))
            log.warning(
                "reply to chat %s dropped: Telegram asked to slow down (%s)", message.chat_id, exc
            )
        except TelegramError as exc:
            log.warning("reply to chat %s failed: %s", message.chat_id, exc)

    async def _group_admin(self, update: Update) -> bool:
        """True outside groups; in a group, True for its administrators (and the bot's)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or chat.type not in GROUP_TYPES or self._is_admin(update):
            return True
        if user is None:
            return False
        try:
            member = await self.application.bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("getChatMember %s/%s failed: %s", chat.id, user.id, exc)
            return False
        return member.status in GROUP_ADMIN_STATUSES

    def _is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.admins

    def _chat_id(self, update: Update) -> int:
        assert update.effective_chat is not None
        return update.effective_chat.id

    async def _lang(self, update: Update, *, keep: bool | None = None) -> str:
        """The language to answer in: the chat's /lang choice, else the writer's Telegram
        language, which the chat then keeps for its alerts (``keep``; by default in private
        chats only: one member of a group does not change what the group reads)."""
        chat, user = update.effective_chat, update.effective_user
        code = user.language_code if user is not None else None
        sub = None if chat is None else await asyncio.to_thread(subscribers.get, self.db, chat.id)
        if chat is None or sub is None:
            return language_of(code)
        if sub.lang_chosen or not code:
            return sub.lang
        lang = language_of(code)
        keep = chat.type not in GROUP_TYPES if keep is None else keep
        if keep and lang != sub.lang:
            await asyncio.to_thread(
                subscribers.set_reading, self.db, chat.id, chat.type, self.clock(), lang=lang
            )
        return lang

    async def _say(self, update: Update, key: str, **values: object) -> str:
        """``key`` from the catalogue in the language of ``update``'s chat, escaped."""
        return _e(say(await self._lang(update), key, **values))

    # -- commands ----------------------------------------------------------------------
    async def cmd_start(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        assert chat is not None
        title = chat.title or chat.username or chat.first_name or ""
        await asyncio.to_thread(
            subscribers.subscribe, self.db, chat.id, chat.type, title, self.clock()
        )
        lang = await self._lang(update, keep=True)  # stored with the subscription
        await self._reply(update, _e(say(lang, "subscribed") + "\n\n" + say(lang, "help")))

    async def cmd_stop(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self._group_admin(update):
            await self._reply(update, await self._say(update, "group_admin_only"))
            return
        chat_id = self._chat_id(update)
        await asyncio.to_thread(subscribers.deactivate, self.db, chat_id, "/stop", self.clock())
        await self._reply(update, await self._say(update, "stopped"))

    async def cmd_help(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, await self._say(update, "help"))

    async def _subscriber(self, update: Update) -> subscribers.Subscriber | None:
        """The chat's subscription, for a command that changes it (None: answered why not)."""
        if not await self._group_admin(update):
            await self._reply(update, await self._say(update, "group_admin_only"))
            return None
        sub = await asyncio.to_thread(subscribers.get, self.db, self._chat_id(update))
        if sub is None or not sub.active:
            await self._reply(update, await self._say(update, "not_subscribed"))
            return None
        return sub

    async def cmd_topics(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        sub = await self._subscriber(update)
        if sub is None:
            return
        lang = await self._lang(update)
        rules = self.hooks.rules()
        await self._reply(
            update,
            _e(say(lang, "topics_prompt")),
            reply_markup=topics_keyboard(rules.topic_ids, rules.titles_in(lang), sub.topics),
        )

    async def on_topic_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        if not (query.data or "").startswith("t:"):  # PTB lets empty data match any pattern
            await self.feedback.on_button(update, ctx)
            return
        assert query.data is not None
        topic = query.data[2:]
        lang = await self._lang(update)
        if not await self._group_admin(update):
            await query.answer(say(lang, "group_admin_only"))
            return
        rules = self.hooks.rules()
        chat_id = self._chat_id(update)
        sub = await asyncio.to_thread(subscribers.get, self.db, chat_id)
        if sub is None or topic not in rules.topic_ids:
            await query.answer(say(lang, "start_first" if sub is None else "topic_unknown"))
            return
        chosen = set(sub.topics or rules.topic_ids)
        chosen ^= {topic}
        if not chosen:
            await query.answer(say(lang, "topic_last"))
            return
        stored = [] if chosen == set(rules.topic_ids) else sorted(chosen)
        await asyncio.to_thread(subscribers.set_topics, self.db, chat_id, stored, self.clock())
        await query.answer(say(lang, "topic_on" if topic in chosen else "topic_off"))
        await query.edit_message_reply_markup(
            topics_keyboard(rules.topic_ids, rules.titles_in(lang), stored)
        )

    async def cmd_mute(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        sub = await self._subscriber(update)
        if sub is None:
            return
        seconds = mute_seconds(" ".join(ctx.args or []))
        if seconds is None:
            await self._reply(update, await self._say(update, "mute_usage"))
            return
        until = self.clock() + seconds
        await asyncio.to_thread(
            subscribers.set_muted_until, self.db, sub.chat_id, until, self.clock()
        )
        when = local_time(datetime.fromtimestamp(until, UTC), sub.tz)
        await self._reply(update, await self._say(update, "muted_until", when=when))

    async def cmd_unmute(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        sub = await self._subscriber(update)
        if sub is None:
            return
        await asyncio.to_thread(
            subscribers.set_muted_until, self.db, sub.chat_id, None, self.clock()
        )
        await self._reply(update, await self._say(update, "unmuted"))

    async def cmd_recent(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """The latest stories, one line each (the alerts themselves are in the chat)."""
        lang = await self._lang(update)
        sub = await asyncio.to_thread(subscribers.get, self.db, self._chat_id(update))
        alerts = await asyncio.to_thread(recent_alerts, self.db, 5 * RECENT_STORIES)
        if sub is not None and sub.topics:
            alerts = [a for a in alerts if any(t in sub.topics for t in a.topics)]
        alerts = await asyncio.to_thread(one_per_story, self.db, alerts)  # with all outlets
        if not alerts:
            await self._reply(update, _e(say(lang, "no_alerts")))
            return
        titles = self.hooks.rules().titles_in(lang)
        reader = Reader(lang=lang, tz=sub.tz if sub is not None else "", titles=titles)
        await self._reply(update, format_recent(alerts[:RECENT_STORIES], reader))

    async def _set_reading(self, update: Update, **change: Any) -> subscribers.Subscriber | None:
        """Store ``change`` (lang, tz, details) for the chat; in a group only its admins may."""
        chat = update.effective_chat
        assert chat is not None
        if not await self._group_admin(update):
            await self._reply(update, await self._say(update, "group_admin_only"))
            return None
        return await asyncio.to_thread(
            subscribers.set_reading, self.db, chat.id, chat.type, self.clock(), **change
        )

    async def cmd_lang(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/lang en|ko|ru: answers and alerts in that language from now on."""
        wanted = " ".join(ctx.args or []).strip().lower()
        if wanted not in LANGUAGES:
            await self._reply(update, await self._say(update, "lang_usage"))
            return
        if await self._set_reading(update, lang=wanted, lang_chosen=True) is not None:
            await self._reply(update, _e(say(wanted, "lang_set")))

    async def cmd_tz(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/tz Area/City: the times in this chat's alerts in that zone (/tz UTC: back)."""
        text = " ".join(ctx.args or []).strip()
        if not text:
            sub = await asyncio.to_thread(subscribers.get, self.db, self._chat_id(update))
            now = (sub.tz if sub is not None else "") or "UTC"
            await self._reply(update, await self._say(update, "tz_usage", zone=now))
            return
        zone = known_zone(text[:64])
        if zone is None:
            lang = await self._lang(update)
            like = zones_like(text[:64])
            hint = say(lang, "tz_hint", zones=", ".join(like)) if like else ""
            await self._reply(update, _e(say(lang, "tz_unknown", zone=text[:64], hint=hint)))
            return
        stored = "" if zone == "UTC" else zone
        if await self._set_reading(update, tz=stored) is not None:
            await self._reply(update, await self._say(update, "tz_set", zone=zone))

    async def cmd_details(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/details on|off: alerts here show (or not) the score and the matched words."""
        wanted = " ".join(ctx.args or []).strip().lower()
        if wanted not in ("on", "off"):
            await self._reply(update, await self._say(update, "details_usage"))
            return
        if await self._set_reading(update, details=wanted == "on") is not None:
            await self._reply(update, await self._say(update, f"details_{wanted}"))

    async def cmd_status(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._is_admin(update):
            await self._reply(update, await self._say(update, "admin_only"))
            return
        active = await asyncio.to_thread(subscribers.count_active, self.db)
        pending = await asyncio.to_thread(outbox.pending_count, self.db, "telegram")
        lines = [f"Subscribers: {active}", f"Telegram messages waiting: {pending}"]
        if self.hooks.status is not None:
            lines.append(await asyncio.to_thread(self.hooks.status))
        await self._reply(update, _e("\n".join(lines))[:MAX_LENGTH])

    async def cmd_explain(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._is_admin(update):
            await self._reply(update, await self._say(update, "admin_only"))
            return
        message = update.effective_message
        raw = (message.text or "") if message is not None else ""
        text = raw.split(maxsplit=1)[1] if len(raw.split(maxsplit=1)) > 1 else ""
        lang = await self._lang(update)
        if not text.strip():
            await self._reply(update, _e(say(lang, "explain_usage")))
            return
        scorer = self.hooks.scorer() if self.hooks.scorer is not None else self.hooks.rules()
        reply = await explain(self.db, scorer, text, self.hooks.fetch_article, lang)
        await self._reply(update, reply)

    async def cmd_review(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._is_admin(update):
            await self._reply(update, await self._say(update, "admin_only"))
            return
        await self.feedback.review(update)

    async def cmd_reload(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._is_admin(update):
            await self._reply(update, await self._say(update, "admin_only"))
            return
        if self.hooks.reload is None:
            await self._reply(update, "Reloading is not available in this process.")
            return
        try:
            outcome = await self.hooks.reload()
        except Exception as exc:  # the admin should see why, the bot keeps running
            await self._reply(update, f"Reload failed: {_e(str(exc))}"[:MAX_LENGTH])
            return
        await self._reply(update, _e(outcome)[:MAX_LENGTH])


def _e(text: str) -> str:
    from html import escape

    return escape(text, quote=False)


def build_bot(settings: TelegramSettings, ctx: Context, pacer: Pacer) -> TelegramBot:
    """The bot of ``watcher run``: it reads the configuration in force through ``ctx``'s
    getters, tells admins every operator notice, and receives updates only while this
    instance holds the ``telegram-updates`` lock (one getUpdates consumer per bot)."""

    from watcher.archive import ArchiveSettings

    runtime = ctx.runtime
    db = runtime.db
    feeds = ctx.feeds
    archive = runtime.settings.section(ArchiveSettings)
    day_cap = archive.max_day_bytes if archive.enabled else None
    status = (
        None
        if feeds is None
        else (lambda: status_text(db, feeds().enabled_sources, archive_max_day_bytes=day_cap))
    )
    rules = ctx.rules
    assert rules is not None, "the bot needs the rules in force"
    bot = TelegramBot(
        db,
        settings,
        BotHooks(
            rules=rules,
            reload=ctx.reload,
            status=status,
            scorer=ctx.scorer,
            fetch_article=fetch_article,
        ),
        lock=SingletonLock(db, UPDATES_LOCK),
        pacer=pacer,
    )
    runtime.listeners.append(bot.on_notice)
    return bot
