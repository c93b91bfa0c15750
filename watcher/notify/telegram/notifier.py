"""The Telegram notifier: sends the outbox's "telegram" rows within the Bot API's flood limits.

* 429 (RetryAfter): every send pauses for ``retry_after`` and the row is sent again.
* 5xx, time-outs, dropped connections: the row is retried with exponential back-off.
* 403 (blocked, kicked) or "chat not found": the subscriber is deactivated, the row marked dead.
* Sends run concurrently (bounded), so one slow or failing chat never holds up the others.
* ``edit:<report>`` rows (a later report of a story, see ``watcher.stories.hook``) rewrite the
  message already sent for the story's first alert with editMessageText, adding "also reported
  by: ...". The text is rebuilt from the store each time, so edits never stack; "message is
  not modified" counts as done, "message to edit not found" ends the row; an edit whose
  message is not sent yet waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from watcher.backoff import backoff_delay
from watcher.models import Alert
from watcher.notify.base import Notifier
from watcher.notify.telegram import ChannelTarget, parse_channel
from watcher.notify.telegram.format import format_alert
from watcher.notify.telegram.limits import FloodLimiter
from watcher.settings import TelegramSettings
from watcher.store import outbox, subscribers
from watcher.store.alerts import get_alerts
from watcher.store.db import Database, Tx
from watcher.store.stories import send_state, with_reporters
from watcher.stories.hook import EDIT_PREFIX

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_BACKOFF_S = 600.0
GONE_MARKERS = ("chat not found", "user is deactivated", "bot was kicked", "chat_id is empty")
NOT_MODIFIED = "message is not modified"  # an edit found the text as it should be: done
EDIT_WAIT_S = 30.0  # an edit whose message is not sent yet looks again after this
CLAIM_S = 120.0  # how long claimed rows are ours; re-taken before sending when half is gone


def is_group_target(target: str) -> bool:
    return target.startswith("@") or target.startswith("-")


def make_bot(settings: TelegramSettings, pool_size: int = 40) -> Bot:
    request = HTTPXRequest(connection_pool_size=pool_size, read_timeout=15.0, pool_timeout=30.0)
    return Bot(settings.token, base_url=settings.api_url, request=request)


class TelegramNotifier(Notifier):
    kind = "telegram"
    name = "telegram-notifier"  # as a Service of ``watcher run``
    poll_interval = 5.0

    def __init__(
        self,
        db: Database,
        settings: TelegramSettings,
        *,
        owner: str = "",
        bot: Bot | None = None,
        concurrency: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.db = db
        self.settings = settings
        self.channels: tuple[ChannelTarget, ...] = tuple(
            parse_channel(c) for c in settings.channels
        )
        self.owner = owner or f"telegram:{os.getpid()}:{id(self)}"
        self.bot = bot
        self.concurrency = concurrency
        self.clock = clock
        self.limiter = FloodLimiter()
        self.paused_until = 0.0  # set by a 429: nothing is sent before this (monotonic)
        self.flood_waits = 0

    def describe(self) -> str:
        """For the start-up summary: who gets the alerts."""
        active = subscribers.count_active(self.db)
        channels = ", ".join(c.chat + (":" + "+".join(c.topics) if c.topics else "")
                             for c in self.channels)  # fmt: skip
        return f"Telegram ({active} subscribers; channels: {channels or 'none'})"

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        now = self.clock()
        chats = [str(s.chat_id) for s in subscribers.active_in_tx(tx) if s.wants(alert.topics, now)]
        chats += [c.chat for c in self.channels if c.wants(alert.topics)]
        return chats

    async def run(self, stop: asyncio.Event) -> None:
        bot = self.bot or make_bot(self.settings, self.concurrency + 10)
        async with bot:
            if stop.is_set():  # ``watcher run --once``: send what is due now, then return
                while await self.deliver_due(bot):
                    pass
                return
            while not stop.is_set():
                try:
                    busy = await self.deliver_due(bot, stop)
                except Exception:  # the store was unreachable: try again on the next round
                    log.exception("telegram delivery round failed")
                    busy = False
                if not busy:
                    await self.wait_for_work(stop)

    async def deliver_due(self, bot: Bot, stop: asyncio.Event | None = None) -> bool:
        """Claim and send one batch of due rows; True when there were any."""
        claimed_at = self.clock()
        rows = await asyncio.to_thread(
            outbox.claim, self.db, CHANNEL, self.owner, claimed_at, 200, CLAIM_S
        )
        if not rows:
            return False
        alerts = await asyncio.to_thread(self._alerts, [r.alert_id for r in rows])
        gate = asyncio.Semaphore(self.concurrency)
        tasks: list[asyncio.Task[None]] = []
        waiting = list(rows)
        while waiting and not (stop is not None and stop.is_set()):
            later: list[outbox.OutboxRow] = []
            for row in waiting:
                loop_now = time.monotonic()
                if self.paused_until > loop_now:
                    await asyncio.sleep(self.paused_until - loop_now)
                    loop_now = time.monotonic()
                group = is_group_target(row.target)
                if self.limiter.delay(row.target, group, loop_now) > self.limiter.global_delay(
                    loop_now
                ):
                    later.append(row)  # this chat must wait; the others go on
                    continue
                pause = self.limiter.delay(row.target, group, loop_now)
                if pause > 0:
                    await asyncio.sleep(pause)
                    loop_now = time.monotonic()
                # A row paced for a long time (a busy channel) may outlive the claim, and
                # another instance may have taken it: re-take it before sending, or skip it.
                if self.clock() - claimed_at > CLAIM_S / 2 and not await asyncio.to_thread(
                    outbox.hold, self.db, row.id, self.owner, self.clock() + CLAIM_S
                ):
                    continue
                self.limiter.record(row.target, group, loop_now)
                await gate.acquire()
                tasks.append(
                    asyncio.create_task(self._send(bot, row, alerts.get(row.alert_id), gate))
                )
            waiting = later
            if waiting:
                now = time.monotonic()
                soonest = min(
                    self.limiter.delay(r.target, is_group_target(r.target), now) for r in waiting
                )
                await asyncio.sleep(max(0.01, min(soonest, 60.0)))
        if tasks:
            await asyncio.gather(*tasks)
        return True

    async def _send(
        self, bot: Bot, row: outbox.OutboxRow, alert: Alert | None, gate: asyncio.Semaphore
    ) -> None:
        try:
            await self._send_row(bot, row, alert)
        finally:
            gate.release()

    def _alerts(self, ids: Sequence[int]) -> dict[int, Alert]:
        """The rows' alerts, with the outlets that also reported their stories."""
        found = get_alerts(self.db, ids)
        return {a.id: a for a in with_reporters(self.db, list(found.values()))}

    async def _send_row(self, bot: Bot, row: outbox.OutboxRow, alert: Alert | None) -> None:
        if alert is None:
            await self._dead(row, "alert gone")
            return
        chat: int | str = int(row.target) if row.target.lstrip("-").isdigit() else row.target
        text = format_alert(alert)
        edit_of: int | None = None
        if row.action.startswith(EDIT_PREFIX):
            status, ref = await asyncio.to_thread(
                send_state, self.db, row.alert_id, CHANNEL, row.target
            )
            if status == outbox.PENDING:  # sent later, with the outlets known by then
                await asyncio.to_thread(
                    outbox.mark_retry,
                    self.db,
                    row.id,
                    "message not sent yet",
                    self.clock() + EDIT_WAIT_S,
                )
                return
            if status != outbox.SENT or ref is None or not ref.isdigit():
                await self._dead(row, "no message to edit")
                return
            edit_of = int(ref)
        for _ in range(5):  # 429s are waited out here, other failures go back to the outbox
            try:
                if edit_of is None:
                    message = await bot.send_message(
                        chat,
                        text,
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                    ref_out = str(message.message_id)
                else:
                    await bot.edit_message_text(
                        text,
                        chat_id=chat,
                        message_id=edit_of,
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                    ref_out = str(edit_of)
            except RetryAfter as exc:
                self.flood_waits += 1
                with warnings.catch_warnings():  # PTB 22.2+ warns that it becomes a timedelta
                    warnings.simplefilter("ignore")
                    wait = exc.retry_after
                seconds = wait if isinstance(wait, (int, float)) else wait.total_seconds()
                self.paused_until = max(self.paused_until, time.monotonic() + seconds)
                await asyncio.sleep(seconds)
                continue
            except Forbidden as exc:
                await self._gone(row, str(exc))
                return
            except BadRequest as exc:
                if edit_of is not None and NOT_MODIFIED in str(exc).lower():
                    # the message already says it (an earlier edit or the send)
                    await self._sent(row, str(edit_of))
                elif any(m in str(exc).lower() for m in GONE_MARKERS):
                    await self._gone(row, str(exc))
                else:  # the message itself was refused: retrying would not help
                    await self._dead(row, str(exc))
                return
            except (NetworkError, TelegramError) as exc:  # 5xx, time-outs, dropped connections
                delay = backoff_delay(row.attempts + 1, base=1.0, cap=MAX_BACKOFF_S)
                await self._retry(row, str(exc), self.clock() + delay)
                return
            await self._sent(row, ref_out)
            return
        await self._retry(row, "flood control", self.clock() + 1.0)

    # Each row ends in one of these: marked in the store, counted for /metrics.

    async def _sent(self, row: outbox.OutboxRow, ref: str) -> None:
        await asyncio.to_thread(outbox.mark_sent, self.db, row.id, ref, self.clock())
        self.count_delivery("sent")

    async def _retry(self, row: outbox.OutboxRow, error: str, at: float) -> None:
        await asyncio.to_thread(outbox.mark_retry, self.db, row.id, error, at)
        self.count_delivery("retry")

    async def _dead(self, row: outbox.OutboxRow, reason: str) -> None:
        await asyncio.to_thread(outbox.mark_dead, self.db, row.id, reason, self.clock())
        self.count_delivery("dead")

    async def _gone(self, row: outbox.OutboxRow, reason: str) -> None:
        if row.target.lstrip("-").isdigit():
            chat = int(row.target)
            await asyncio.to_thread(subscribers.deactivate, self.db, chat, reason, self.clock())
        await self._dead(row, reason)
