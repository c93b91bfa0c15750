"""Run a task in only one ``watcher run`` process at a time (e.g. polling Telegram updates).

``run_while_leader(lock, body, stop)`` waits until this process holds the ``SingletonLock``,
runs ``body(inner_stop)`` while it does, and stops the body (sets ``inner_stop``) when the lock
is lost or ``stop`` is set. Instances that do not hold the lock retry every ``retry_s``
seconds, so when the holder dies (its PostgreSQL session ends and the advisory lock with it)
another one takes over within ``retry_s`` (plus TCP keepalive time when the holder vanished
without closing its connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from watcher.store.leases import SingletonLock

log = logging.getLogger(__name__)

RETRY_S = 15.0  # how often a standby instance tries to take over
CHECK_S = 10.0  # how often the holder checks that the lock is still its own


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_while_leader(
    lock: SingletonLock,
    body: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    retry_s: float = RETRY_S,
    check_s: float = CHECK_S,
) -> None:
    """Run ``body`` whenever this process holds ``lock``, until ``stop`` is set."""
    while not stop.is_set():
        if not await asyncio.to_thread(lock.try_acquire):
            await _sleep_or_stop(stop, retry_s)
            continue
        log.info("this instance now holds the %s lock", lock.name)
        inner = asyncio.Event()
        task = asyncio.ensure_future(body(inner))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while True:
                await asyncio.wait({task, stopper}, timeout=check_s, return_when="FIRST_COMPLETED")
                if stop.is_set() or task.done():
                    break
                if not await asyncio.to_thread(lock.still_held):
                    log.warning("lost the %s lock: stopping here, another instance takes over",
                                lock.name)  # fmt: skip
                    break
        finally:
            inner.set()
            stopper.cancel()
            try:
                await task
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", lock.name)
            finally:
                await asyncio.to_thread(lock.release)
        if not stop.is_set():
            await _sleep_or_stop(stop, retry_s)  # let another instance have a go
