"""The email digest notifier: each recipient's digest when it is due, through the contract.

Digests are scheduled per recipient, not per alert, so this notifier keeps its own queue (the
``digests`` table) instead of the outbox, and fits the contract's steps to it:

* ``claim``: record the digest of every recipient whose local send time has passed (the alert
  ids it covers, a Message-ID) and claim the pending digests that are due;
* ``load``: render each claimed digest (from its recorded alert ids) into its MIME message;
* ``send``: SMTP; ``Sent`` with the Message-ID, ``Retry`` with the reason when the server is
  down or refuses (login, recipient);
* ``mark_*``: delivered, or pending again after the one back-off (1 min doubling to 1 h).

Never twice, never missed: a digest is recorded before it is sent and marked delivered after; a
crash in between leaves it pending and the next run sends that same digest (same Message-ID,
same alerts). It sends no alert by itself (``per_alert = False``), so ``targets`` is empty.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from watcher.archive import ArchiveSettings
from watcher.errors import DeliveryError
from watcher.notify.base import Context, Notifier, NotifierSettings, Outcome, Retry, Round, Sent
from watcher.notify.email import SmtpSettings
from watcher.notify.email.message import build_message, new_message_id
from watcher.notify.email.render import RenderedDigest, render_digest
from watcher.notify.email.sender import SmtpSender
from watcher.store import digests as store
from watcher.store.alerts import get_alerts
from watcher.store.db import Database
from watcher.stories.reporters import one_per_story

if TYPE_CHECKING:
    from watcher.ops.metrics import Metrics

log = logging.getLogger(__name__)

RETRY_FIRST_S = 60.0  # a failed digest is tried again after about this, doubling
RETRY_MAX_S = 3600.0  # up to this
CLAIM_HOLD = 120.0  # a claimed digest is not picked again for this long (a crashed sender's)


def local_now(now: float, tz: str) -> datetime:
    return datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(tz))


def is_due(recipient: store.Recipient, now: float) -> bool:
    """True once the recipient's local clock has passed its send time today."""
    local = local_now(now, recipient.tz)
    hour, minute = (int(p) for p in recipient.send_at.split(":"))
    return (local.hour, local.minute) >= (hour, minute)


def next_due(recipient: store.Recipient, now: float) -> float:
    """The epoch time of this recipient's next send time after ``now``."""
    zone = ZoneInfo(recipient.tz)
    local = local_now(now, recipient.tz)
    hour, minute = (int(p) for p in recipient.send_at.split(":"))
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at.timestamp() <= now:
        at = datetime.combine(at.date() + timedelta(days=1), at.timetz()).replace(tzinfo=zone)
    return at.timestamp()


class DigestService(Notifier[store.Digest, EmailMessage]):
    kind = "email"
    settings_model = SmtpSettings
    per_alert = False
    poll_interval = 60.0
    concurrency = 1
    lease_s = CLAIM_HOLD
    retry_base_s = RETRY_FIRST_S
    retry_cap_s = RETRY_MAX_S
    settings: SmtpSettings

    def __init__(
        self,
        db: Database,
        smtp: SmtpSettings,
        *,
        titles: Mapping[str, str] | Callable[[str], Mapping[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
        sender: SmtpSender | None = None,
        metrics: Metrics | None = None,
        owner: str = "",
        archive_url: str = "",
    ) -> None:
        super().__init__(db, smtp, owner=owner, clock=clock, metrics=metrics)
        self.archive_url = archive_url  # maintainer pages serving archived copies (links)
        self.smtp = smtp
        # topic titles: a mapping, or language -> titles of the rules in force (a reload
        # renames topics)
        self._titles = titles
        self.sender = sender or SmtpSender(smtp)
        self.horizon: float | None = None  # claim pending digests due by then (None: now)

    @classmethod
    def build(cls, settings: NotifierSettings, ctx: Context) -> DigestService:
        assert isinstance(settings, SmtpSettings)
        rules = ctx.rules
        titles = None if rules is None else (lambda lang: rules().titles_in(lang))
        runtime = ctx.runtime
        return cls(
            runtime.db,
            settings,
            titles=titles,
            metrics=runtime.metrics,
            archive_url=runtime.settings.section(ArchiveSettings).links,
        )

    def describe(self) -> str:
        return f"email digests ({len(store.recipients(self.db))} recipients)"

    def titles(self, lang: str) -> dict[str, str]:
        """Topic id -> title in ``lang``."""
        titles = self._titles(lang) if callable(self._titles) else self._titles
        return dict(titles or {})

    # -- making digests -------------------------------------------------------------------

    def make(
        self, recipient: store.Recipient, now: float, digest_date: str | None = None
    ) -> store.Digest | None:
        """Record ``recipient``'s digest for ``digest_date`` (its local date by default).

        Returns the pending digest, or None when there is one for that date already or there
        is nothing new (then an ``empty`` row is recorded unless "nothing new" notes are on).
        """
        key = digest_date or local_now(now, recipient.tz).date().isoformat()
        alerts = store.new_alerts_for(self.db, recipient)
        status = store.PENDING if alerts or self.smtp.digest_empty else store.EMPTY
        digest = store.record_digest(
            self.db,
            recipient=recipient.email,
            digest_date=key,
            message_id=new_message_id(self.smtp.from_addr),
            alert_ids=[a.id for a in alerts],
            now=now,
            status=status,
        )
        if digest is None or digest.status != store.PENDING:
            return None
        log.info("digest for %s (%s): %d alerts", recipient.email, key, len(alerts))
        return digest

    def make_due(self, now: float) -> int:
        made = 0
        for r in store.recipients(self.db):
            try:
                due = is_due(r, now)
                key = local_now(now, r.tz).date().isoformat()
            except (ValueError, KeyError) as exc:  # a bad zone or time: skip this one only
                log.error("digest recipient %s: bad time or zone: %s", r.email, exc)
                continue
            if due and not store.has_digest(self.db, r.email, key) and self.make(r, now, key):
                made += 1
        return made

    def render(
        self, digest: store.Digest, tz: str, topics: Sequence[str], lang: str = "en"
    ) -> RenderedDigest:
        from watcher.archive.view import archived_links  # warcio: only when digests are made

        by_id = get_alerts(self.db, list(digest.alert_ids))
        alerts = [by_id[i] for i in digest.alert_ids if i in by_id]
        alerts = one_per_story(self.db, alerts)  # one entry per story, with all its outlets
        day = date.fromisoformat(digest.digest_date[:10])
        links = archived_links(self.db, {a.id: a.url for a in alerts}, self.archive_url)
        return render_digest(
            alerts,
            day=day,
            topics=topics,
            topic_titles=self.titles(lang),
            tz=tz,
            lang=lang,
            unsubscribe=f"mailto:{self.smtp.from_addr}?subject=unsubscribe",
            archived=links,
        )

    # -- the contract's steps, on the digests table -----------------------------------------

    async def claim(self, now: float) -> list[store.Digest]:
        return await asyncio.to_thread(self._claim, now)

    def _claim(self, now: float) -> list[store.Digest]:
        if self.horizon is None:  # on schedule (``send_now`` sends what was made already)
            self.make_due(now)
        horizon = now if self.horizon is None else self.horizon
        claimed = []
        for d in store.due_digests(self.db, horizon):
            if store.claim(self.db, d.id, max(now, d.next_attempt_at), CLAIM_HOLD):
                claimed.append(d)
        return claimed

    async def load(self, rows: Sequence[store.Digest]) -> Mapping[int, EmailMessage]:
        return await asyncio.to_thread(lambda: {d.id: self._message(d) for d in rows})

    def _message(self, digest: store.Digest) -> EmailMessage:
        recipient = store.get_recipient(self.db, digest.recipient)
        tz = recipient.tz if recipient else "UTC"
        topics = recipient.topics if recipient else ()
        lang = recipient.lang if recipient else "en"
        return build_message(
            self.render(digest, tz, topics, lang),
            from_addr=self.smtp.from_addr,
            to=digest.recipient,
            message_id=digest.message_id,
            date=datetime.fromtimestamp(digest.created_at, UTC),
        )

    async def send(self, row: store.Digest, alert: EmailMessage) -> Outcome:
        try:
            await self.sender.send(alert)
        except DeliveryError as exc:
            log.warning("digest %s for %s not sent: %s", row.message_id, row.recipient, exc)
            return Retry(str(exc))
        log.info("digest %s delivered to %s", row.message_id, row.recipient)
        return Sent(row.message_id)

    async def mark_sent(self, row: store.Digest, ref: str) -> None:
        await asyncio.to_thread(store.mark_delivered, self.db, row.id, self.clock())

    async def mark_retry(self, row: store.Digest, error: str, at: float) -> None:
        await asyncio.to_thread(store.mark_failed, self.db, row.id, error, at)

    async def mark_dead(self, row: store.Digest, reason: str) -> None:
        # a digest has no dead end: it stays pending and is tried again after the longest wait
        await self.mark_retry(row, reason, self.clock() + self.retry_cap_s)

    async def defer(self, row: store.Digest, at: float) -> None:
        await self.mark_retry(row, "paced", at)  # digests are not paced: never called

    async def idle_seconds(self) -> float:
        return await asyncio.to_thread(self.seconds_to_next, self.clock())

    async def send_now(self, now: float) -> Round:
        """``digest send --now``: every pending digest, due or not."""
        self.horizon = float("inf")
        try:
            return await self.run_once(now)
        finally:
            self.horizon = None

    def seconds_to_next(self, now: float) -> float:
        """Until the next recipient is due or a pending digest's retry, at most poll_interval."""
        times = [next_due(r, now) for r in store.recipients(self.db)]
        times += [d.next_attempt_at for d in store.due_digests(self.db, float("inf"))]
        soonest = min(times, default=now + self.poll_interval)
        return max(1.0, min(self.poll_interval, soonest - now))
