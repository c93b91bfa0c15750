"""The notifier interface.

A notifier does two things:

* ``targets(tx, alert)`` - called inside the transaction that records an alert; it names the
  targets (chat ids, "-" for the console) that get an outbox row. Nothing is sent here.
* ``run(stop)`` - a long-running task that claims its channel's due outbox rows
  (``watcher.store.outbox.claim``), sends them within the channel's limits and marks each
  sent, retried or dead. It wakes on ``wake`` (set when new alerts are recorded) or at least
  every ``poll_interval`` seconds, so rows left by a crash are sent after a restart.

Each notifier declares its settings model; the registry in ``watcher.notify.registry`` maps
``kind`` to class.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from watcher.models import Alert
from watcher.store.db import Tx

if TYPE_CHECKING:
    from watcher.ops.metrics import Metrics


class Notifier(ABC):
    kind: ClassVar[str]
    poll_interval: ClassVar[float] = 5.0
    # Set by ``watcher run``: deliveries are counted by channel and outcome for /metrics.
    metrics: Metrics | None = None

    def __init__(self) -> None:
        self.wake = asyncio.Event()

    def count_delivery(self, outcome: str) -> None:
        """Count one outbox row handled: ``sent``, ``retry`` or ``dead``."""
        if self.metrics is not None:
            self.metrics.delivery(self.kind, outcome)

    def describe(self) -> str:
        """Where this notifier sends alerts, for the start-up summary."""
        return self.kind

    @abstractmethod
    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        """Targets that should receive ``alert`` (called in the alert's transaction)."""

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Deliver this channel's outbox rows until ``stop`` is set."""

    async def wait_for_work(self, stop: asyncio.Event) -> None:
        """Sleep until woken, stopped, or ``poll_interval`` has passed."""
        waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for w in waiters:
                w.cancel()
        self.wake.clear()
