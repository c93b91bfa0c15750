"""The poll schedule: one APScheduler job per source, hot reload of the configuration.

Each source's job runs at its interval with jitter, never twice at once (``max_instances=1``,
``coalesce``); a source in back-off (``next_check_at`` in the store) skips its turns until due.
Edits to feeds.yaml and keywords.yaml are picked up without a restart; an invalid edit keeps
the last good configuration and tells the operators why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config.feeds import SourceConfig
from watcher.config.live import LiveConfig
from watcher.errors import FetchErrorKind
from watcher.ops.source_leases import SourceLeases
from watcher.pipeline import Pipeline, PollOutcome
from watcher.relevance.files import describe
from watcher.runtime import Runtime
from watcher.store import sources as sources_store

log = logging.getLogger(__name__)

FAILING_AFTER_S = 24 * 3600.0
# Failures that will not heal by waiting (a redesigned page): operators are told at once.
TELL_AT_ONCE = frozenset({FetchErrorKind.SELECTORS.value})
RELOAD_CHECK_S = 2.0
# Sources starting together are spread over up to this many seconds each (capped at their
# interval): a list of 100 sources starts over 20 s instead of in one burst, and later polls
# keep that spread instead of arriving in waves that queue alerts behind per-chat limits.
START_SPREAD_PER_SOURCE_S = 0.2


@dataclass
class Scheduler:
    """Runs ``pipeline.poll`` for every enabled source on its schedule (a ``Service``)."""

    runtime: Runtime
    pipeline: Pipeline
    config: LiveConfig
    name: str = "scheduler"
    jitter_fraction: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    _urls: dict[str, str] = field(default_factory=dict)  # each job's source URL when scheduled
    _failing_since: dict[str, float] = field(default_factory=dict)
    _scheduler: AsyncIOScheduler | None = None
    _inflight: set[asyncio.Task[PollOutcome]] = field(default_factory=set)
    _leases: SourceLeases | None = None  # one instance per source per interval (ops/)

    def running(self) -> bool:
        """True while the schedule runs (for /healthz)."""
        return self._scheduler is not None and bool(self._scheduler.running)

    def leases(self) -> SourceLeases:
        if self._leases is None:
            self._leases = SourceLeases(self.runtime.db, self.runtime.instance_id)
        return self._leases

    async def run(self, stop: asyncio.Event) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._sync_jobs()
        self._scheduler.add_job(
            self._reload_job,
            IntervalTrigger(seconds=RELOAD_CHECK_S),
            id="__reload__",
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()
        try:
            await stop.wait()
        finally:
            self._scheduler.shutdown(wait=False)  # cancels its running jobs (see _poll_job)
            await self._abandon_polls()
            await asyncio.to_thread(self.leases().release_all)

    async def _abandon_polls(self) -> None:
        """Stopping: the polls in flight are cancelled. One waiting on the network (or a
        parse) writes nothing, gives its lease back and runs at the next start; one already
        in its transaction finishes it first (``Pipeline._store``), so nothing is half-written
        and the process does not wait for a slow server's timeout."""
        polls = list(self._inflight)
        for task in polls:
            task.cancel()
        if polls:
            await asyncio.gather(*polls, return_exceptions=True)
            log.info("stopped %d polls in flight; they run again at the next start", len(polls))

    def _sync_jobs(self) -> None:
        sched = self._scheduler
        assert sched is not None
        wanted = {s.id: s for s in self.config.feeds().enabled_sources}
        for job in sched.get_jobs():
            if job.id != "__reload__" and job.id not in wanted:
                job.remove()
        starting = [s for s in wanted.values() if sched.get_job(s.id) is None]
        now = datetime.now(UTC)
        for source in wanted.values():
            trigger = IntervalTrigger(
                seconds=source.interval, jitter=max(1, int(source.interval * self.jitter_fraction))
            )
            existing = sched.get_job(source.id)
            if existing is not None:
                existing.modify(args=(source.id,))
                if existing.trigger.interval.total_seconds() != source.interval:
                    existing.reschedule(trigger)  # keep the phase of unchanged sources
                if self._urls.get(source.id) != source.url:  # a moved source: poll it now
                    existing.modify(next_run_time=now)
                    self._urls[source.id] = source.url
                continue
            self._urls[source.id] = source.url
            spread = min(source.interval, START_SPREAD_PER_SOURCE_S * len(starting))
            sched.add_job(
                self._poll_job,
                trigger,
                args=(source.id,),
                id=source.id,
                max_instances=1,
                coalesce=True,
                next_run_time=now + timedelta(seconds=self.rng.uniform(0, spread)),
                misfire_grace_time=None,
            )

    async def _poll_job(self, source_id: str) -> None:
        # A job cancelled by the stopping scheduler ends quietly: run() deals with its poll.
        with contextlib.suppress(asyncio.CancelledError):
            await self._poll_now(source_id)

    async def _poll_now(self, source_id: str) -> None:
        source = self.config.feeds().get(source_id)
        if source is None or not source.enabled or self.runtime.stop.is_set():
            return
        leases = self.leases()
        if not await leases.take(source):
            return  # backing off, polled recently (here, before a restart, or by another instance)
        started = time.monotonic()
        task = asyncio.ensure_future(leases.hold(source, self.pipeline.poll(source)))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        outcome = await asyncio.shield(task)
        self.runtime.metrics.poll(outcome, time.monotonic() - started)
        await self._after(source, outcome)

    async def _after(self, source: SourceConfig, outcome: PollOutcome) -> None:
        """Tell operators once when a source starts failing for good, and once when it
        recovers. Whether they were told is kept in the store, so a restart or another
        instance does not tell them again."""
        if outcome.ok:
            self._failing_since.pop(source.id, None)
            # the one success that clears the mark tells them (not every poll that saw it set)
            if outcome.recovered and await asyncio.to_thread(
                sources_store.claim_recovered_notice, self.runtime.db, source.id
            ):
                await self.runtime.notice(
                    "source_recovered", f"{source.display_name} ({source.id}) works again"
                )
            return
        state = await asyncio.to_thread(sources_store.get_state, self.runtime.db, source.id)
        if state is None or state.failing_notified_at is not None:
            return
        now = time.time()
        if outcome.error_kind in TELL_AT_ONCE:
            text = (
                f"{source.display_name} ({source.id}): {outcome.error_kind}: {outcome.error}"
                " (the page may have changed: check its selectors in feeds.yaml)"
            )
        else:
            since = state.last_success_at or self._failing_since.setdefault(source.id, now)
            if now - since < FAILING_AFTER_S:
                return
            text = (
                f"{source.display_name} ({source.id}) has failed for over 24h"
                f" ({state.consecutive_failures} in a row): {outcome.error_kind} {outcome.error}"
            )
        if await asyncio.to_thread(
            sources_store.claim_failing_notice, self.runtime.db, source.id, now
        ):
            await self.runtime.notice("source_failing", text)

    async def reload(self) -> str:
        """Re-read the configuration now (an admin's /reload); says what happened.

        Operators get a notice only when the files changed since the last look, so each edit
        is still announced once whether the timer or /reload sees it first.
        """
        return await self._check_reload(force=True)

    async def _reload_job(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # the scheduler is stopping
            await self._check_reload()

    async def _check_reload(self, force: bool = False) -> str:
        result = await asyncio.to_thread(self.config.check, force)
        if result.status == "unchanged":
            return "unchanged"
        if result.status == "invalid":
            text = "; ".join(str(p) for p in result.problems[:5])
            if result.edited:
                await self.runtime.notice("config_invalid", f"kept the last good config: {text}")
            return f"configuration invalid, kept the last good one: {text}"
        if self._scheduler is not None:  # /reload can come before the schedule starts
            self._sync_jobs()
        feeds, rules = self.config.feeds(), self.config.rules()
        summary = f"{len(feeds.enabled_sources)} sources, {len(rules.topic_ids)} topics"
        summary += f"; {describe(self.config.scorer())}"
        if result.edited:
            await self.runtime.notice("config_reloaded", summary)
        return f"configuration reloaded: {summary}"
