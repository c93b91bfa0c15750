"""What the long-running parts of ``watcher run`` share: one object, passed explicitly.

There is no global state: the scheduler, notifiers, bot, digest sender and health server each
get the ``Runtime`` they run in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from watcher.ops.metrics import Metrics
from watcher.settings import Settings
from watcher.store.db import Database

log = logging.getLogger(__name__)

# A listener for operator notices: (kind, text). Kinds: "source_failing", "source_recovered",
# "config_invalid", "config_reloaded", "article_removed", "article_changed".
NoticeListener = Callable[[str, str], Awaitable[None]]


class Service(Protocol):
    """A long-running part of ``watcher run``."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def default_instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    instance_id: str = field(default_factory=default_instance_id)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # Set whenever new alerts were recorded: notifiers wait on their own events, this one
    # fans out to them (see ``alerts_recorded``).
    wakers: list[asyncio.Event] = field(default_factory=list)
    listeners: list[NoticeListener] = field(default_factory=list)
    # Prometheus counters of this process (its own registry): the pipeline and notifiers
    # count fetches, items, alerts and deliveries here; /metrics serves them.
    metrics: Metrics = field(default_factory=Metrics)

    def alerts_recorded(self) -> None:
        for event in self.wakers:
            event.set()

    async def notice(self, kind: str, text: str) -> None:
        """Tell operators (log, and every listener such as Telegram admins) about ``kind``."""
        log.warning("%s: %s", kind, text)
        for listener in list(self.listeners):
            try:
                await listener(kind, text)
            except Exception:  # a broken listener must not stop the others
                log.exception("notice listener failed for %s", kind)
