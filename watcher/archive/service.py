"""The archive as a background ``Service`` of ``watcher run``.

Nothing in the alert path waits for it: it finds, in the store, alerts (and the reports of
their stories) whose URL has no capture yet, queues them, and leases due rows like the outbox
does (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a restart resumes where it stopped and
several instances never capture the same page twice. It wakes when alerts are recorded
(``runtime.wakers``), else when the next capture or check is due, at least once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from watcher.archive import ArchiveSettings, archive_dir
from watcher.archive.capture import LEASE_S, Archiver, capture_fetcher
from watcher.archive.warc import sweep_partials
from watcher.config.feeds import FeedsConfig
from watcher.errors import ConfigError, Problem
from watcher.runtime import Runtime
from watcher.store import archive as store
from watcher.store.db import Database
from watcher.web.guard import AddressPolicy

log = logging.getLogger(__name__)

IDLE_S = 60.0


class ArchiveService:
    name = "archive"

    def __init__(
        self,
        runtime: Runtime,
        feeds: Callable[[], FeedsConfig] | None = None,
        *,
        policy: AddressPolicy | None = None,
        idle_s: float = IDLE_S,
    ) -> None:
        self.runtime = runtime
        self.feeds = feeds
        self.policy = policy
        self.idle_s = idle_s
        self.wake = asyncio.Event()
        runtime.wakers.append(self.wake)
        self._alerts_seen = 0
        self._reports_seen = 0

    @property
    def root(self) -> Path:
        return archive_dir(self.runtime.settings)

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.runtime.settings.section(ArchiveSettings)
        await asyncio.to_thread(check_folder, self.root)
        swept = await asyncio.to_thread(sweep_partials, self.root)
        if swept:
            log.info("archive: removed %d partial files left by a crash", swept)
        async with capture_fetcher(settings, self.policy) as fetcher:
            archiver = Archiver(
                self.db,
                self.root,
                fetcher,
                settings,
                owner=self.runtime.instance_id,
                feeds=self.feeds,
                notice=self.runtime.notice,
            )
            while not stop.is_set():
                self.wake.clear()
                done = await _unless_stopped(self.run_once(archiver), stop)
                if done:
                    continue  # more may be due
                await self._sleep(stop)

    async def run_once(self, archiver: Archiver) -> int:
        """Queue new alerts, then capture or check the rows due now; how many were."""
        await asyncio.to_thread(self.enqueue, time.time())
        rows = await asyncio.to_thread(
            store.claim,
            self.db,
            archiver.owner,
            time.time(),
            self.runtime.settings.section(ArchiveSettings).concurrency,
            LEASE_S,
        )
        outcomes = await asyncio.gather(
            *(archiver.process(r) for r in rows), return_exceptions=True
        )
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # a bug or the store: the lease runs out
                log.error("archive: %s failed: %r", row.url, outcome)
            else:
                log.debug("archive: %s: %s", row.url, outcome)
        return len(rows)

    def enqueue(self, now: float) -> None:
        while True:
            with self.db.transaction() as tx:
                seen = store.enqueue_alerts(tx, self._alerts_seen, now)
                reports = store.enqueue_reports(tx, self._reports_seen, now)
            if seen == self._alerts_seen and reports == self._reports_seen:
                return
            self._alerts_seen, self._reports_seen = seen, reports

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until the next row is due, alerts are recorded, or stop; a minute at most."""
        due = await asyncio.to_thread(store.next_due, self.db)
        wait = self.idle_s if due is None else min(self.idle_s, max(1.0, due - time.time()))
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.wait(waiters, return_when="FIRST_COMPLETED"), wait)
        finally:
            for w in waiters:
                w.cancel()


def check_folder(root: Path) -> None:
    """Raise ``ConfigError`` naming the setting when the archive folder cannot be written
    (waiting will not fix it: ``watcher run`` stops and says what to do)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        # a probe of its own (mkstemp): several apps in one process check the folder at once
        handle, probe = tempfile.mkstemp(prefix=".probe-", dir=root)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            Problem(
                "environment",
                0,
                0,
                f"WATCHER_ARCHIVE_DIR: cannot write to {root} ({exc.strerror or exc}): set it to"
                " a writable folder, or WATCHER_ARCHIVE=false to keep no archived copies",
            )
        ) from exc


async def _unless_stopped(work: Coroutine[Any, Any, int], stop: asyncio.Event) -> int:
    """``work``'s result, or 0 when stop comes first: captures in flight are dropped (their
    leases run out and another pass takes them; a file being written is finished by its
    thread or left as a ``.part``), so stopping never waits for a slow site."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when="FIRST_COMPLETED")
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0
