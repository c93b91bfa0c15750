"""The notifier contract: a delivery base owns claim -> load -> send -> mark, pacing and counting.

A notifier is one class with a ``kind``; it implements

* ``targets(tx, alert)``: called in the transaction that records an alert (through
  ``watcher.notify.fanout.fan_out``); it names the targets that get an outbox row;
* ``send(row, alert)``: deliver one row, and say how it went: ``Sent(ref)``,
  ``Retry(error, after)`` or ``Gone(reason)``; it never marks the store itself;
* ``settings_model``: its ``Section`` of ``WATCHER_*`` variables, declared in its module.

The base (``Notifier``) claims due rows, loads their alerts, books each row a send time with
the notifier's ``Pacer`` (a row whose own target is busy for longer than ``hold_s`` goes back to
the outbox for when it is free, so one slow target never holds back the others), sends them
concurrently, and settles each outcome in one place: marked in the store and counted for
/metrics (``watcher_deliveries_total{channel, outcome}``). ``Retry`` waits with the one
back-off (``watcher.backoff``), a server's ``after`` as its floor; a ``Retry`` with
``pause_all`` (a flood wait) pauses every send of the notifier and is tried again in place.

Subclasses register themselves by ``kind`` (``Notifier.kinds``); ``watcher.notify.kinds``
imports the built-in modules and builds the configured notifiers, so ``watcher run`` never
names one. The queue is the outbox by default (``OutboxNotifier``); the email digest keeps its
own per-recipient queue and overrides ``claim``/``load``/``mark_*`` (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import Field

from watcher.backoff import backoff_delay
from watcher.errors import DeliveryError, Problem
from watcher.logs import redact_url
from watcher.models import Alert
from watcher.notify.pacing import Limits, Pacer
from watcher.settings import CsvTuple, Section, split_csv
from watcher.store import outbox
from watcher.store.alerts import get_alerts
from watcher.store.db import Database, Tx
from watcher.store.outbox import OutboxRow

if TYPE_CHECKING:
    from watcher.config.feeds import FeedsConfig
    from watcher.ops.metrics import Metrics
    from watcher.relevance.decide import Relevance
    from watcher.rules.score import Rules
    from watcher.runtime import Runtime, Service

log = logging.getLogger(__name__)

SESSION_RETRY_CAP_S = 300.0  # a channel that cannot be used is looked at again this often


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered; ``ref`` is the channel's reference (a message id), kept for later edits."""

    ref: str = ""


@dataclass(frozen=True, slots=True)
class Retry:
    """Not delivered this time. ``after``: the service's own wait (a floor of the back-off);
    ``pause_all``: the service asked to slow down everything (wait it out, then resend)."""

    error: str
    after: float | None = None
    pause_all: bool = False


@dataclass(frozen=True, slots=True)
class Gone:
    """Never deliverable (the target refuses for good, or the message itself is refused)."""

    reason: str


Outcome = Sent | Retry | Gone


class Claimed(Protocol):
    """A claimed unit of work: an outbox row, or a recorded digest."""

    @property
    def id(self) -> int: ...
    @property
    def target(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class Targets(Protocol):
    """What the fan-out asks of a notifier."""

    @property
    def kind(self) -> str: ...
    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]: ...
    def spacing(self, target: str) -> float: ...


R = TypeVar("R", bound=Claimed)
P = TypeVar("P")


@dataclass
class Round:
    """What one ``deliver_due`` did; true when it claimed anything."""

    claimed: int = 0
    sent: int = 0
    retry: int = 0
    dead: int = 0
    deferred: int = 0
    next_at: float = float("inf")  # when the first row given back (deferred) is due

    def __bool__(self) -> bool:
        return self.claimed > 0


@dataclass
class InFlight:
    """Sends under way in ``run``: at most ``concurrency`` at once (``gate``), one at a time
    through the limit of all targets together (``turn``)."""

    gate: asyncio.Semaphore
    turn: asyncio.Lock
    tasks: set[asyncio.Task[str]] = field(default_factory=set)

    def add(self, tasks: list[asyncio.Task[str]]) -> None:
        for task in tasks:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


@dataclass
class Context:
    """What building a notifier may use: the runtime (settings, store, metrics, notices)
    and the configuration in force (getters: a reload swaps it)."""

    runtime: Runtime
    rules: Callable[[], Rules] | None = None
    scorer: Callable[[], Relevance] | None = None  # the rules with the relevance model
    feeds: Callable[[], FeedsConfig] | None = None
    reload: Callable[[], Awaitable[str]] | None = None
    services: list[Service] = field(default_factory=list)  # extra services (the Telegram bot)


@dataclass(frozen=True, slots=True)
class Configured:
    """A target named in settings, with the topics it wants (none: every topic)."""

    address: str
    topics: tuple[str, ...] = ()

    def wants(self, topics: Sequence[str]) -> bool:
        return not self.topics or any(t in self.topics for t in topics)

    def describe(self, shown: str | None = None) -> str:
        return (shown or self.address) + (":" + "+".join(self.topics) if self.topics else "")


TOPIC_IDS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\+[A-Za-z_][A-Za-z0-9_-]*)*$")


def with_topics(spec: str) -> Configured:
    """``ADDRESS`` or ``ADDRESS:topic1+topic2`` (a chat, a URL): the topics are what follows
    the last ``:`` when it reads as topic ids (a URL's port or path does not)."""
    text = spec.strip()
    head, sep, tail = text.rpartition(":")
    if sep and head and TOPIC_IDS.match(tail) and not head.endswith(("/", ":")):
        return Configured(head.strip(), tuple(tail.split("+")))
    return Configured(text)


class NotifierSettings(Section):
    """A notifier's section; ``enabled`` says whether the notifier is configured."""

    @property
    def enabled(self) -> bool:
        return True

    def configured(self) -> tuple[str, tuple[Configured, ...]]:
        """The variable naming targets with topics, and those targets (none by default)."""
        return "", ()

    def check_topics(self, known: Sequence[str]) -> list[Problem]:
        """A problem for each configured topic that keywords.yaml does not define."""
        variable, targets = self.configured()
        return [
            Problem("environment", 0, 0, f"{variable}: unknown topic {t!r} in"
                    f" {target.describe(redact_url(target.address))!r}; keywords.yaml has:"
                    f" {', '.join(known)}")
            for target in targets
            for t in target.topics
            if t not in known
        ]  # fmt: skip


SettingsT = TypeVar("SettingsT", bound=NotifierSettings)


class Notifier(ABC, Generic[R, P]):
    kind: ClassVar[str]
    settings_model: ClassVar[type[NotifierSettings]]
    kinds: ClassVar[dict[str, type[Notifier[Any, Any]]]] = {}
    per_alert: ClassVar[bool] = True  # sends each alert (False: the email digest)
    fallback: ClassVar[bool] = False  # built only when no per-alert notifier is configured
    poll_interval: ClassVar[float] = 5.0  # looks for due rows at least this often
    batch: ClassVar[int] = 200
    lease_s: ClassVar[float] = 120.0
    concurrency: ClassVar[int] = 8
    hold_s: ClassVar[float] = 2.0  # a row waits in memory this long at most for its target
    retry_base_s: ClassVar[float] = 1.0
    retry_cap_s: ClassVar[float] = 600.0
    flood_tries: ClassVar[int] = 5
    drain_on_stop: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # concrete notifiers name their kind; bases do not
            Notifier.kinds[cls.kind] = cls

    def __init__(
        self,
        db: Database,
        settings: NotifierSettings,
        *,
        owner: str = "",
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner or f"{self.kind}:{id(self)}"
        self.clock = clock
        self.metrics = metrics
        self.pacer = pacer or self.default_pacer()
        self.wake = asyncio.Event()
        self.name = f"notify:{self.kind}"  # as a Service of ``watcher run``

    @classmethod
    def build(cls, settings: NotifierSettings, ctx: Context) -> Notifier[R, P]:
        """This notifier for ``watcher run`` (``settings`` is its loaded, enabled section)."""
        runtime = ctx.runtime
        return cls(runtime.db, settings, owner=runtime.instance_id, metrics=runtime.metrics)

    def describe(self) -> str:
        """Where this notifier sends alerts, for the start-up summary."""
        return self.kind

    def default_pacer(self) -> Pacer:
        """The service's limits (none by default)."""
        return Pacer(Limits())

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        """Targets that get an outbox row for ``alert`` (called in its transaction)."""
        return ()

    def spacing(self, target: str) -> float:
        """Seconds between two messages to ``target`` when it is kept busy (its pacing)."""
        return self.pacer.spacing(target)

    # -- the queue (the outbox by default, see OutboxNotifier) ---------------------------
    @abstractmethod
    async def claim(self, now: float) -> list[R]: ...

    @abstractmethod
    async def load(self, rows: Sequence[R]) -> Mapping[int, P]:
        """Row id -> what to send; a row missing from the result is dead ("alert gone")."""

    @abstractmethod
    async def send(self, row: R, alert: P) -> Outcome: ...

    @abstractmethod
    async def mark_sent(self, row: R, ref: str) -> None: ...

    @abstractmethod
    async def mark_retry(self, row: R, error: str, at: float) -> None: ...

    @abstractmethod
    async def mark_dead(self, row: R, reason: str) -> None: ...

    @abstractmethod
    async def defer(self, row: R, at: float) -> None:
        """Give ``row`` back, due at ``at``, without counting an attempt (its target is busy)."""

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Resources held while delivering (a bot, an HTTP client); raises ``DeliveryError``
        saying why when the channel cannot be used at all (a rejected token)."""
        yield

    # -- delivery --------------------------------------------------------------------------
    async def deliver_due(
        self,
        stop: asyncio.Event | None = None,
        now: float | None = None,
        hold: float | None = None,
        flight: InFlight | None = None,
    ) -> Round:
        """Claim one batch of due rows and deliver it; a row whose target is busy for longer
        than ``hold`` (default ``hold_s``) goes back to the outbox for when it is free.
        Without ``flight`` it returns when the batch is done; with one (``run``) it returns
        once the sends are started, so new rows are claimed while others wait their turn."""
        hold = self.hold_s if hold is None else hold
        now = self.clock() if now is None else now
        rows = await self.claim(now)
        done = Round(claimed=len(rows))
        if not rows:
            return done
        items = await self.load(rows)
        sends = flight or InFlight(asyncio.Semaphore(self.concurrency), asyncio.Lock())
        tasks: list[asyncio.Task[str]] = []
        busy: dict[str, int] = {}  # targets set aside this round -> how many rows
        for row in rows:
            item = items.get(row.id)
            mono = time.monotonic()
            at = None if item is None else self.pacer.reserve(row.target, mono, hold)
            if item is None:
                tasks.append(asyncio.create_task(self._settle(row, Gone("alert gone"), now)))
            elif at is None or (stop is not None and stop.is_set()):
                k = busy[row.target] = busy.get(row.target, 0) + 1
                free = self.pacer.ready_at(row.target, mono) - mono
                due = now + free + (k - 1) * self.pacer.spacing(row.target)
                await self.defer(row, due)
                done.deferred += 1
                done.next_at = min(done.next_at, due)
            else:
                tasks.append(asyncio.create_task(self._deliver(row, item, at, sends, now)))
        if flight is not None:
            flight.add(tasks)
            return done
        for outcome in await asyncio.gather(*tasks):
            setattr(done, outcome, getattr(done, outcome) + 1)
        return done

    async def _deliver(self, row: R, item: P, at: float, sends: InFlight, now: float) -> str:
        for attempt in range(self.flood_tries):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            async with sends.gate:
                await self._turn(sends.turn)
                outcome = await self._attempt(row, item)
            if not (isinstance(outcome, Retry) and outcome.pause_all):
                break
            if attempt + 1 < self.flood_tries:  # a flood wait: everything pauses, then again
                self.count("retry")
                self.pacer.pause(time.monotonic() + (outcome.after or 1.0))
                at = self.pacer.reserve(row.target, time.monotonic(), float("inf")) or 0.0
        return await self._settle(row, outcome, now)

    async def _turn(self, turn: asyncio.Lock) -> None:
        """Wait for the limit of all targets together, one send at a time."""
        async with turn:
            while (wait := self.pacer.global_wait(time.monotonic())) > 0:
                await asyncio.sleep(wait)
            self.pacer.record_global(time.monotonic())

    async def _attempt(self, row: R, item: P) -> Outcome:
        try:
            return await self.send(row, item)
        except Exception as exc:  # a surprise in one send must not stop the others
            log.exception("%s: sending row %s failed", self.kind, row.id)
            return Retry(f"{type(exc).__name__}: {exc}")

    async def _settle(self, row: R, outcome: Outcome, now: float) -> str:
        """The one place a row ends a round: marked in the store, counted for /metrics."""
        if isinstance(outcome, Sent):
            await self.mark_sent(row, outcome.ref)
            result = "sent"
        elif isinstance(outcome, Gone):
            await self.mark_dead(row, outcome.reason)
            result = "dead"
        else:
            delay = backoff_delay(
                row.attempts + 1, self.retry_base_s, self.retry_cap_s, retry_after=outcome.after
            )
            await self.mark_retry(row, outcome.error, now + delay)
            result = "retry"
        self.count(result)
        return result

    def count(self, outcome: str) -> None:
        """Count one row handled (``sent``, ``retry`` or ``dead``) for /metrics."""
        if self.metrics is not None:
            self.metrics.delivery(self.kind, outcome)

    # -- running ---------------------------------------------------------------------------
    async def idle_seconds(self) -> float:
        """How long to sleep when nothing is due (woken earlier by ``wake``)."""
        return self.poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set (``watcher run``); rows left by a crash are found
        at the next look, at least every ``idle_seconds``. A channel that cannot be used (a
        rejected token, no server) is said once, and tried again with the one back-off while
        its alerts wait in the outbox."""
        failures, said = 0, ""
        while not stop.is_set():
            try:
                async with self.session():
                    failures = 0
                    # what start-up made (libraries, the session) is collected now, so the
                    # first full collection of this process does not fall on a send
                    gc.collect()
                    await self._deliver_until(stop)
                return
            except DeliveryError as exc:
                failures += 1
                delay = backoff_delay(failures, self.retry_base_s, SESSION_RETRY_CAP_S)
                if str(exc) != said:
                    log.error("%s: %s; restarting delivery with back-off", self.kind, exc)
                    said = str(exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def _deliver_until(self, stop: asyncio.Event) -> None:
        flight = InFlight(asyncio.Semaphore(self.concurrency), asyncio.Lock())
        try:
            await self._rounds(stop, flight)
        finally:
            await asyncio.gather(*flight.tasks, return_exceptions=True)
        if self.drain_on_stop:
            await self.deliver_due()

    async def _rounds(self, stop: asyncio.Event, flight: InFlight) -> None:
        soonest = float("inf")  # rows given back to the outbox are due again then
        while not stop.is_set():
            try:
                done = await self.deliver_due(stop, flight=flight)
            except Exception:  # the store was unreachable: try again on the next round
                log.exception("%s: delivery round failed", self.kind)
                done = Round()
            soonest = min(soonest, done.next_at)
            if done.claimed < self.batch:  # all that was due is under way: wait for more
                idle = min(await self.idle_seconds(), max(0.0, soonest - self.clock()))
                soonest = float("inf")
                await self.wait_for_work(stop, idle)

    async def run_once(self, now: float | None = None) -> Round:
        """Deliver everything due now, then return (``watcher run --once``)."""
        total = Round()
        async with self.session():
            while done := await self.deliver_due(now=now, hold=float("inf")):
                for name in ("claimed", "sent", "retry", "dead", "deferred"):
                    setattr(total, name, getattr(total, name) + getattr(done, name))
        return total

    async def wait_for_work(self, stop: asyncio.Event, timeout: float) -> None:
        """Sleep until woken, stopped, or ``timeout`` has passed."""
        waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            for w in waiters:
                w.cancel()
        self.wake.clear()


SUMMARY_PREFIX = "more:"  # an outbox row summarising the alerts after a poll's first few


@dataclass(frozen=True, slots=True)
class Summary:
    """One message for the alerts of one source and poll beyond the per-target cap."""

    alerts: tuple[Alert, ...]

    @property
    def source_name(self) -> str:
        first = self.alerts[0]
        return first.source_name or first.source_id


def summary_action(alert_ids: Sequence[int]) -> str:
    return SUMMARY_PREFIX + ",".join(str(i) for i in alert_ids)


def summary_ids(action: str) -> list[int]:
    """The alert ids of a summary row's action; [] for any other row."""
    if not action.startswith(SUMMARY_PREFIX):
        return []
    return [int(p) for p in action[len(SUMMARY_PREFIX) :].split(",") if p.isdigit()]


class OutboxNotifier(Notifier[OutboxRow, "Alert | Summary"]):
    """A notifier whose queue is the outbox: one row per (alert, target), or a summary row."""

    async def claim(self, now: float) -> list[OutboxRow]:
        return await asyncio.to_thread(
            outbox.claim, self.db, self.kind, self.owner, now, self.batch, self.lease_s
        )

    async def load(self, rows: Sequence[OutboxRow]) -> Mapping[int, Alert | Summary]:
        return await asyncio.to_thread(self._load, rows)

    def _load(self, rows: Sequence[OutboxRow]) -> dict[int, Alert | Summary]:
        from watcher.stories.reporters import with_reporters  # (story grouping loads datasketch)

        wanted = {r.alert_id for r in rows} | {i for r in rows for i in summary_ids(r.action)}
        # the alerts with the outlets that also reported their stories
        found = with_reporters(self.db, list(get_alerts(self.db, sorted(wanted)).values()))
        by_id = {a.id: a for a in found}
        out: dict[int, Alert | Summary] = {}
        for row in rows:
            more = summary_ids(row.action)
            if more:
                alerts = tuple(by_id[i] for i in more if i in by_id)
                if alerts:
                    out[row.id] = Summary(alerts)
            elif row.alert_id in by_id:
                out[row.id] = by_id[row.alert_id]
        return out

    async def mark_sent(self, row: OutboxRow, ref: str) -> None:
        await asyncio.to_thread(outbox.mark_sent, self.db, row.id, ref, self.clock())

    async def mark_retry(self, row: OutboxRow, error: str, at: float) -> None:
        await asyncio.to_thread(outbox.mark_retry, self.db, row.id, error, at)

    async def mark_dead(self, row: OutboxRow, reason: str) -> None:
        await asyncio.to_thread(outbox.mark_dead, self.db, row.id, reason, self.clock())

    async def defer(self, row: OutboxRow, at: float) -> None:
        await asyncio.to_thread(outbox.defer, self.db, row.id, at)


def hashed_target(kind: str, address: str) -> str:
    """The outbox target of a configured URL: stable, and without the URL (it may hold a
    token, which must not reach the store)."""
    return f"{kind}:" + hashlib.sha256(address.encode()).hexdigest()[:16]


class UrlTargetsSettings(NotifierSettings):
    """A section whose ``*_URLS`` variable lists the notifier's targets."""

    urls: CsvTuple = Field(
        (), repr=False, description='Comma-separated URLs, each optionally ":topic1+topic2".'
    )

    _csv = split_csv("urls")

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    def configured(self) -> tuple[str, tuple[Configured, ...]]:
        return self.variable("urls"), tuple(with_topics(u) for u in self.urls)


class UrlTargetsNotifier(OutboxNotifier):
    """An outbox notifier whose targets are its section's URLs (Apprise, the webhook)."""

    settings: UrlTargetsSettings

    @functools.cached_property
    def endpoints(self) -> dict[str, Configured]:
        return {hashed_target(self.kind, c.address): c for c in self.settings.configured()[1]}

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        return [t for t, endpoint in self.endpoints.items() if endpoint.wants(alert.topics)]
