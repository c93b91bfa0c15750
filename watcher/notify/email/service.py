"""The digest service: makes each recipient's digest when it is due and sends pending ones.

Never twice, never missed: a digest is recorded (Message-ID, alert ids) before it is sent and
marked delivered after. SMTP down, login refused or the recipient refused: it stays pending and
is retried with back-off while the other recipients still get theirs. A crash between record and
send leaves it pending, and the next run sends that same digest (same Message-ID, same alerts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from watcher.archive.view import archived_links
from watcher.backoff import backoff_delay
from watcher.errors import ConfigError, DeliveryError
from watcher.notify.email.message import build_message, new_message_id
from watcher.notify.email.render import RenderedDigest, render_digest
from watcher.notify.email.sender import SmtpSender
from watcher.ops.metrics import Metrics
from watcher.settings import SmtpSettings
from watcher.store import digests as store
from watcher.store.alerts import get_alerts
from watcher.store.db import Database
from watcher.store.stories import one_per_story

log = logging.getLogger(__name__)

RETRY_FIRST_S = 60.0  # a failed digest is tried again after about this, doubling
RETRY_MAX_S = 3600.0  # up to this
CLAIM_HOLD = 120.0  # a claimed digest is not picked again for this long (a crashed sender's)


@dataclass(frozen=True, slots=True)
class RunResult:
    recorded: int = 0
    delivered: int = 0
    failed: int = 0


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


def topic_titles(keywords_path: Path) -> dict[str, str]:
    """Topic id -> title from keywords.yaml ({} when it is missing or broken)."""
    from watcher.rules.spec import parse_spec

    try:
        spec, _ = parse_spec(keywords_path.read_text(encoding="utf-8"), str(keywords_path))
    except (OSError, ConfigError):
        return {}
    return {t.id: t.title for t in spec.topics}


class DigestService:
    name = "email-digest"

    def __init__(
        self,
        db: Database,
        smtp: SmtpSettings,
        *,
        titles: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 60.0,
        sender: SmtpSender | None = None,
        metrics: Metrics | None = None,
        archive_url: str = "",
    ) -> None:
        self.archive_url = archive_url  # maintainer pages serving archived copies (links)
        self.metrics = metrics  # digests sent/retried, as channel "email" in /metrics
        self.db = db
        self.smtp = smtp
        # topic titles: a mapping, or a getter of the rules in force (a reload renames topics)
        self._titles = titles
        self.clock = clock
        self.poll_interval = poll_interval
        self.sender = sender or SmtpSender(smtp)

    @property
    def titles(self) -> dict[str, str]:
        titles = self._titles() if callable(self._titles) else self._titles
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

    # -- sending --------------------------------------------------------------------------

    def render(self, digest: store.Digest, tz: str, topics: Sequence[str]) -> RenderedDigest:
        by_id = get_alerts(self.db, list(digest.alert_ids))
        alerts = [by_id[i] for i in digest.alert_ids if i in by_id]
        alerts = one_per_story(self.db, alerts)  # one entry per story, with all its outlets
        day = date.fromisoformat(digest.digest_date[:10])
        links = archived_links(self.db, {a.id: a.url for a in alerts}, self.archive_url)
        return render_digest(
            alerts,
            day=day,
            topics=topics,
            topic_titles=self.titles,
            tz=tz,
            unsubscribe=f"mailto:{self.smtp.from_addr}?subject=unsubscribe",
            archived=links,
        )

    async def deliver(self, digest: store.Digest, now: float) -> bool:
        """Send one recorded digest; True when delivered, else it is left for a retry."""
        # store work and rendering run in threads: the bot and the polls share this loop
        recipient = await asyncio.to_thread(store.get_recipient, self.db, digest.recipient)
        tz = recipient.tz if recipient else "UTC"
        topics = recipient.topics if recipient else ()
        try:
            rendered = await asyncio.to_thread(self.render, digest, tz, topics)
            message = build_message(
                rendered,
                from_addr=self.smtp.from_addr,
                to=digest.recipient,
                message_id=digest.message_id,
                date=datetime.fromtimestamp(digest.created_at, UTC),
            )
            await self.sender.send(message)
        except DeliveryError as exc:
            delay = backoff_delay(digest.attempts + 1, base=RETRY_FIRST_S, cap=RETRY_MAX_S)
            await asyncio.to_thread(store.mark_failed, self.db, digest.id, str(exc), now + delay)
            if self.metrics is not None:
                self.metrics.delivery("email", "retry")
            log.warning(
                "digest %s for %s not sent (retry in %.0f s): %s",
                digest.message_id,
                digest.recipient,
                delay,
                exc,
            )
            return False
        await asyncio.to_thread(store.mark_delivered, self.db, digest.id, now)
        if self.metrics is not None:
            self.metrics.delivery("email", "sent")
        log.info("digest %s delivered to %s", digest.message_id, digest.recipient)
        return True

    async def send_due(self, now: float, *, force: bool = False) -> tuple[int, int]:
        """Send pending digests that are due (all pending ones with ``force``)."""
        delivered = failed = 0
        horizon = float("inf") if force else now
        for d in await asyncio.to_thread(store.due_digests, self.db, horizon):
            claim_at = d.next_attempt_at if force else now
            if not await asyncio.to_thread(store.claim, self.db, d.id, claim_at, CLAIM_HOLD):
                continue
            if await self.deliver(d, now):
                delivered += 1
            else:
                failed += 1
        return delivered, failed

    async def run_once(self, now: float | None = None) -> RunResult:
        at = self.clock() if now is None else now
        made = await asyncio.to_thread(self.make_due, at)
        delivered, failed = await self.send_due(at)
        return RunResult(recorded=made, delivered=delivered, failed=failed)

    def seconds_to_next(self, now: float) -> float:
        """Until the next recipient is due or a pending digest's retry, at most poll_interval."""
        times = [next_due(r, now) for r in store.recipients(self.db)]
        times += [d.next_attempt_at for d in store.due_digests(self.db, float("inf"))]
        soonest = min(times, default=now + self.poll_interval)
        return max(1.0, min(self.poll_interval, soonest - now))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
                wait = await asyncio.to_thread(self.seconds_to_next, self.clock())
            except Exception:  # the store or a template failed: log, keep the service alive
                log.exception("digest run failed")
                wait = self.poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
