"""``watcher run``: build the runtime, notifiers and services, run until stopped.

SIGTERM and SIGINT set ``runtime.stop``: the scheduler stops starting polls, polls in flight
finish and notifiers deliver what is due, then the process exits cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text

from watcher.archive import ArchiveSettings
from watcher.backoff import backoff_delay
from watcher.config.live import LiveConfig
from watcher.errors import ConfigError, DeliveryError
from watcher.fetch import Fetcher
from watcher.logs import redact_url
from watcher.notify.base import Context, Notifier
from watcher.notify.kinds import build_notifiers
from watcher.pages.service import web_service
from watcher.pipeline import Pipeline, PollOutcome
from watcher.relevance.files import describe
from watcher.runtime import Runtime, Service
from watcher.scheduler import Scheduler
from watcher.settings import Settings
from watcher.store.articles import prune_articles
from watcher.store.db import Database, open_database
from watcher.store.items import prune_items
from watcher.stories.hook import build_story_hook
from watcher.web.fulltext import FullText, article_fetcher

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
EXIT_UNDELIVERED = 3  # run --once: a channel could not be used; its alerts wait in the store


@dataclass
class App:
    runtime: Runtime
    config: LiveConfig
    notifiers: list[Notifier[Any, Any]]
    pipeline: Pipeline
    services: list[Service]
    console: Console

    def summary(self) -> list[str]:
        feeds = self.config.feeds()
        enabled = feeds.enabled_sources
        channels = ", ".join(n.describe() for n in self.notifiers) or "nowhere"
        return [
            f"watcher: {len(enabled)} sources enabled ({len(feeds.sources)} in"
            f" {self.config.feeds_path}), {len(self.config.rules().topic_ids)} topics from"
            f" {self.config.keywords_path}",
            *(str(w) for w in self.config.warnings),
            f"alerts go to: {channels}",
            describe(self.config.scorer()),
            f"state: {_describe_db(self.runtime.db)}",
        ]


def _describe_db(db: Database) -> str:
    return f"{db.dialect} {redact_url(db.url)}"


def build_app(
    settings: Settings,
    fetcher: Fetcher,
    console: Console | None = None,
    articles: Fetcher | None = None,
) -> App:
    """Everything ``watcher run`` runs; ``articles`` fetches full text (sources with
    ``fulltext: true``) behind the address guard, None leaves items as their feeds give them.
    Every part reads the configuration in force through ``live`` (a hot reload swaps it)."""
    live = LiveConfig.load(settings.feeds_path, settings.keywords_path, settings.model)
    db = open_database(settings.db_target)
    runtime = Runtime(settings=settings, db=db)
    if settings.instance_id:
        runtime.instance_id = settings.instance_id
    # the configured channels, found by kind (watcher.notify.kinds); they read the
    # configuration in force through ``live``'s getters, which a reload swaps
    ctx = Context(
        runtime,
        rules=live.rules,
        scorer=live.scorer,
        feeds=live.feeds,
        reload=lambda: scheduler.reload(),
    )
    notifiers = build_notifiers(ctx)
    runtime.wakers.extend(n.wake for n in notifiers)
    pipeline = Pipeline(
        db=db,
        fetcher=fetcher,
        scorer=live.scorer,
        notifiers=lambda: notifiers,
        on_alerts=runtime.alerts_recorded,
        fulltext=FullText(articles, db=db) if articles is not None else None,
        # one story, one alert: later reports edit the first message (docs/stories.md)
        stories=build_story_hook(settings.stories, db, time.time()),
        alerts_per_poll=settings.alerts_per_poll,
    )
    scheduler = Scheduler(runtime, pipeline, live)
    services: list[Service] = [
        scheduler,
        *notifiers,
        *ctx.services,
        Pruner(db, live.retention),
        *_optional_services(runtime, live, scheduler),
    ]
    return App(runtime, live, notifiers, pipeline, services, console or Console(stderr=True))


def _optional_services(runtime: Runtime, live: LiveConfig, scheduler: Scheduler) -> list[Service]:
    """The services the settings turn on: the archive, the web app with /healthz, /metrics and
    the pages (the notifiers' come from ``build_notifiers``)."""
    services = list[Service]()
    if runtime.settings.section(ArchiveSettings).enabled:  # docs/archive.md
        from watcher.archive.service import ArchiveService

        services.append(ArchiveService(runtime, live.feeds))
    http = web_service(runtime, live, scheduler.running)  # WATCHER_HTTP_PORT (docs/web.md)
    if http is not None:
        services.append(http)
    return services


@dataclass
class Pruner:
    """Once an hour, forgets what is older than the retention period: seen items, and the
    cached article text of full-text fetches (that table would otherwise grow for ever)."""

    db: Database
    retention_s: Callable[[], float]  # the configuration in force (a reload changes it)
    name: str = "pruner"

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            keep = self.retention_s()
            items, articles = await asyncio.to_thread(self.prune, time.time() - keep)
            if items or articles:
                log.info(
                    "pruned %d items and %d articles older than %.0f days",
                    items,
                    articles,
                    keep / 86400,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PRUNE_EVERY_S)

    def prune(self, older_than: float) -> tuple[int, int]:
        """(items, articles) removed that were first seen / fetched before ``older_than``."""
        items = prune_items(self.db, older_than)
        with self.db.transaction() as tx:
            articles = prune_articles(tx, older_than)
        return items, articles


def report_outcomes(outcomes: Sequence[PollOutcome], console: Console) -> None:
    ok = sum(1 for o in outcomes if o.ok)
    new = sum(o.new_items for o in outcomes)
    alerts = sum(len(o.alerts) for o in outcomes)
    console.print(
        f"polled {len(outcomes)} sources: {ok} ok, {len(outcomes) - ok} failed;"
        f" {new} new items, {alerts} alerts"
    )
    for o in outcomes:
        if not o.ok:
            console.print(f"  [yellow]{o.source_id}[/]: {o.error_kind}: {o.error}"[:300])


EXIT_ALL_FAILED = 1  # `run --once`: every source polled failed (docs/operations.md)


async def run_once(settings: Settings, console: Console | None = None) -> int:
    """One pass over every enabled source, deliver what is due, exit: 0, or
    ``EXIT_ALL_FAILED`` when there were sources and every one of them failed, else
    ``EXIT_UNDELIVERED`` when a channel could not be used (its alerts wait in the store)."""
    async with Fetcher() as fetcher, article_fetcher() as articles:
        app = build_app(settings, fetcher, console, articles)
        try:
            for line in app.summary():  # file:line problems stay whole, never markup
                app.console.print(line, soft_wrap=True, markup=False)
            sources = app.config.feeds().enabled_sources
            outcomes = await asyncio.gather(*(app.pipeline.poll(s) for s in sources))
            report_outcomes(outcomes, app.console)
            unusable = await deliver_once(app.notifiers, app.console)
        finally:
            app.runtime.db.close()
    if outcomes and not any(o.ok for o in outcomes):
        return EXIT_ALL_FAILED
    return EXIT_UNDELIVERED if unusable else 0


async def deliver_once(notifiers: Sequence[Notifier[Any, Any]], console: Console) -> int:
    """Every notifier delivers what is due; one that cannot be used (a rejected token, no
    server) is said in one line and the others still deliver. How many could not."""
    unusable = 0
    for notifier in notifiers:
        try:
            await notifier.run_once()
        except DeliveryError as exc:
            unusable += 1
            console.print(Text(f"watcher: {notifier.kind}: {exc}; its alerts wait in the store"))
    return unusable


async def run_forever(settings: Settings, console: Console | None = None) -> int:
    """Run every service until SIGTERM/SIGINT. Stopping is prompt: polls waiting on the
    network are abandoned (they run at their next turn), writes under way are finished."""
    async with Fetcher() as fetcher, article_fetcher() as articles:
        app = build_app(settings, fetcher, console, articles)
        runtime = app.runtime
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, runtime.stop.set)
        for line in app.summary():  # file:line problems stay whole, never markup
            app.console.print(line, soft_wrap=True, markup=False)
        failed: list[BaseException] = []
        tasks = [
            asyncio.create_task(supervise(s, runtime.stop, failed), name=s.name)
            for s in app.services
        ]
        try:
            await runtime.stop.wait()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            runtime.db.close()
        app.console.print("watcher: stopped")
    if failed:  # a configuration problem found while running (a port taken, say)
        raise failed[0]
    return 0


RESTART_FIRST_S = 1.0
RESTART_MAX_S = 60.0


async def supervise(service: Service, stop: asyncio.Event, failed: list[BaseException]) -> None:
    """Run ``service`` until ``stop``; restart it with back-off when it fails.

    A failure outside (the Bot API unreachable at boot, the database restarting) must not end
    ``watcher run``: the other services go on and this one comes back. A ``ConfigError`` will
    not heal by waiting: it stops everything, and ``watcher run`` exits 2 saying why.
    """
    restarts = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            await service.run(stop)
            if stop.is_set():
                return
            problem = "ended early"  # a service runs until stop: one that returns is restarted
        except ConfigError as exc:
            failed.append(exc)
            stop.set()
            return
        except Exception as exc:  # any failure of one service is logged and retried, not fatal
            if stop.is_set():
                log.warning("service %s failed while stopping: %r", service.name, exc)
                return
            problem = f"failed: {exc!r}"
        if time.monotonic() - started > RESTART_MAX_S:
            restarts = 0  # it ran a good while: start the back-off again
        restarts += 1
        delay = backoff_delay(restarts, base=RESTART_FIRST_S, cap=RESTART_MAX_S)
        log.error("service %s %s; restarting in %.0f s", service.name, problem, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
