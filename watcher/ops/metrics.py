"""Prometheus metrics of one ``watcher run`` process.

``Metrics`` owns its own ``CollectorRegistry`` (nothing is registered globally), so tests and
several runtimes in one process never share counters. The pipeline and the notifiers count
what happens (``fetch``, ``items``, ``alert``, ``delivery``, ``source_failure``,
``observe_cycle``); the gauges that describe the store (outbox queue length, failing sources)
are read from the database just before each scrape (``refresh_from_store``), so every
instance on a shared PostgreSQL database reports the same queue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from watcher.store.db import Database


class _AlertLike(Protocol):
    @property
    def topics(self) -> Sequence[str]: ...


class PollLike(Protocol):
    """What ``Metrics.poll`` reads of a ``watcher.pipeline.PollOutcome``."""

    @property
    def source_id(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def new_items(self) -> int: ...
    @property
    def error_kind(self) -> str: ...
    @property
    def alerts(self) -> Sequence[_AlertLike]: ...


# Poll cycles of one source take from a few milliseconds (304) to the fetch timeout.
CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """The counters, gauges and histograms of one process, in a registry of their own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, instance_id: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._known_queue_channels: set[str] = set()
        r = self.registry
        self.fetches = Counter(
            "watcher_fetches",
            "Source fetches by outcome (ok, not_modified, or the error kind).",
            ["outcome"],
            registry=r,
        )
        self.items = Counter(
            "watcher_items", "New items stored (first seen) across all sources.", registry=r
        )
        self.alerts = Counter(
            "watcher_alerts",
            "Alerts recorded, by topic (an alert counts once per topic).",
            ["topic"],
            registry=r,
        )
        self.deliveries = Counter(
            "watcher_deliveries",
            "Outbox rows handled by channel and outcome (sent, retry, dead).",
            ["channel", "outcome"],
            registry=r,
        )
        self.source_failures = Counter(
            "watcher_source_failures",
            "Failed polls by source and error kind.",
            ["source", "kind"],
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "watcher_cycle_duration_seconds",
            "Duration of one source's poll cycle (fetch, parse, score, store).",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "watcher_outbox_pending",
            "Outbox rows waiting to be sent, by channel (read from the store at scrape time).",
            ["channel"],
            registry=r,
        )
        self.sources_failing = Gauge(
            "watcher_sources_failing",
            "Sources whose last poll failed (read from the store at scrape time).",
            registry=r,
        )
        self.store_up = Gauge(
            "watcher_store_up", "1 when the store answered the last scrape, else 0.", registry=r
        )
        self.info = Gauge(
            "watcher_instance_info",
            "Constant 1, labelled with this process's id.",
            ["instance"],
            registry=r,
        )
        if instance_id:
            self.set_instance(instance_id)

    def set_instance(self, instance_id: str) -> None:
        """Label this registry with the process's instance id (``watcher_instance_info``)."""
        self.info.clear()
        self.info.labels(instance=instance_id).set(1)

    # -- what the pipeline and notifiers count ------------------------------------------
    def poll(self, outcome: PollLike, seconds: float) -> None:
        """Count one source's poll from its outcome: the scheduler's one call per poll."""
        if outcome.ok:
            self.fetch("not_modified" if outcome.status == "not_modified" else "ok")
        else:
            kind = outcome.error_kind or "error"
            self.fetch(kind)
            self.source_failure(outcome.source_id, kind)
        self.new_items(outcome.new_items)
        for alert in outcome.alerts:
            self.alert(alert.topics)
        self.observe_cycle(seconds)

    def fetch(self, outcome: str) -> None:
        """One fetch ended: ``ok``, ``not_modified`` or a ``FetchErrorKind`` value."""
        self.fetches.labels(outcome=outcome).inc()

    def new_items(self, count: int) -> None:
        if count > 0:
            self.items.inc(count)

    def alert(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self.alerts.labels(topic=topic).inc()

    def delivery(self, channel: str, outcome: str) -> None:
        """One outbox row handled: ``sent``, ``retry`` or ``dead``."""
        self.deliveries.labels(channel=channel, outcome=outcome).inc()

    def source_failure(self, source_id: str, kind: str) -> None:
        self.source_failures.labels(source=source_id, kind=kind).inc()

    def observe_cycle(self, seconds: float) -> None:
        self.cycle_seconds.observe(max(0.0, seconds))

    # -- gauges read from the store ------------------------------------------------------
    def refresh_from_store(self, db: Database) -> bool:
        """Read queue length and failing sources from ``db``; False when it did not answer."""
        from watcher.errors import StoreError

        try:
            with db.transaction() as tx:
                per_channel = tx.fetchall(
                    "SELECT channel, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY channel"
                )
                failing = tx.scalar("SELECT COUNT(*) FROM sources WHERE consecutive_failures > 0")
        except StoreError:
            self.store_up.set(0)
            return False
        counts = {str(channel): int(n) for channel, n in per_channel}
        with self._lock:
            # A channel whose queue emptied reports 0, not its last value.
            self._known_queue_channels |= set(counts)
            for channel in self._known_queue_channels:
                self.outbox_pending.labels(channel=channel).set(counts.get(channel, 0))
        self.sources_failing.set(int(failing or 0))
        self.store_up.set(1)
        return True

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
