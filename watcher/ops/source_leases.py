"""Each source polled by one ``watcher run`` process per interval: the scheduler's side.

Every instance runs the same schedule. When a source's timer fires, the scheduler first takes
the source's lease (``watcher.store.leases.try_lease_source``, one conditional ``UPDATE``): it
is granted only when the source is due (its ``next_check_at``, written by the previous poll,
whoever made it) and no other instance holds it. So with several instances on one database the
first timer to fire after the source is due polls it, and the others find it not due.

While the poll runs, the lease is renewed every third of its length, so a slow fetch is never
polled twice at once; when the poll ends the lease is given back. A SIGKILLed holder's lease
runs out after ``lease_seconds(interval)`` (one interval, within ``MIN_LEASE_S`` and
``MAX_LEASE_S``); then the next instance whose timer fires polls the source.

With one instance on SQLite this replaces the one ``SELECT`` the scheduler made before each poll
(is the source backing off?) with two short write transactions (take, give back); see
``bench/bench_leases.py`` for what that costs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from watcher.config.feeds import SourceConfig
from watcher.errors import StoreError
from watcher.store.db import Database
from watcher.store.leases import release_all, release_source, renew_source, try_lease_source

log = logging.getLogger(__name__)

MIN_LEASE_S = 5.0
MAX_LEASE_S = 60.0

T = TypeVar("T")


def lease_seconds(interval: float) -> float:
    """How long one lease lasts: one interval, within [MIN_LEASE_S, MAX_LEASE_S]."""
    return min(MAX_LEASE_S, max(MIN_LEASE_S, interval))


@dataclass
class SourceLeases:
    """The leases one instance (``owner``) takes on the sources it polls."""

    db: Database
    owner: str
    clock: Callable[[], float] = time.time

    async def take(self, source: SourceConfig) -> bool:
        """True when this instance should poll ``source`` now (due, and nobody else has it)."""
        return await asyncio.to_thread(
            try_lease_source,
            self.db,
            source.id,
            self.owner,
            self.clock(),
            lease_seconds(source.interval),
            url=source.url,
        )

    async def hold(self, source: SourceConfig, poll: Awaitable[T]) -> T:
        """Run ``poll`` renewing the lease, then give the lease back.

        The scheduler runs this whole coroutine as the poll's task, so the lease is given back
        only once the poll has ended: cancelled (a stopping scheduler), the poll is cancelled
        and waited for (it ends what it must, see ``Pipeline._store``) before the source is
        free for another instance.
        """
        task = asyncio.ensure_future(poll)
        try:
            return await self._renewing(source, task)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            try:
                await asyncio.to_thread(release_source, self.db, source.id, self.owner)
            except StoreError as exc:  # it runs out on its own
                log.warning("source %s: lease not given back: %s", source.id, exc)

    async def _renewing(self, source: SourceConfig, task: asyncio.Future[T]) -> T:
        """``task``'s result, renewing the lease every third of its length meanwhile."""
        lease_s = lease_seconds(source.interval)
        while True:
            done, _ = await asyncio.wait({task}, timeout=lease_s / 3)
            if done:
                return task.result()
            until = self.clock() + lease_s
            try:
                renewed = await asyncio.to_thread(
                    renew_source, self.db, source.id, self.owner, until
                )
            except StoreError as exc:  # the poll goes on; the next turn tries again
                log.warning("source %s: lease not renewed: %s", source.id, exc)
                continue
            if not renewed:
                log.warning("source %s: lease lost during a long poll", source.id)

    def release_all(self) -> int:
        """Give back every lease of this instance (on shutdown); how many there were."""
        try:
            return release_all(self.db, self.owner)
        except StoreError as exc:
            log.warning("source leases not given back: %s", exc)
            return 0
