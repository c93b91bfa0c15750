"""The web app as a ``Service`` of ``watcher run`` (and the whole of ``watcher web``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from watcher.config.live import LiveConfig
from watcher.ops.http import Health
from watcher.ops.metrics import Metrics
from watcher.pages import WebSettings
from watcher.pages.access import check_bind, is_loopback
from watcher.pages.app import Web, create_app
from watcher.pages.server import bound_port, listen, serve
from watcher.settings import Settings
from watcher.store.db import Database

log = logging.getLogger(__name__)

VARIABLES = "WATCHER_HTTP_HOST/WATCHER_HTTP_PORT"


class WebService:
    """Serves every endpoint on ``host:port`` (0: any free port; ``bound_port`` once
    ``ready``) until stopped."""

    name = "http"

    def __init__(self, web: Web, *, host: str = "127.0.0.1", port: int = 0) -> None:
        section = web.settings.section(WebSettings)
        check_bind(host, section.token)
        if not is_loopback(host) and not section.secure_cookie:
            log.warning(
                "the pages listen on %s without WATCHER_WEB_SECURE_COOKIE: the login token and"
                " session cookie travel in clear unless an https proxy is in front (then set it)",
                host,
            )
        self.web = web
        self.host = host
        self.port = port
        self.ready = asyncio.Event()
        self.bound_port: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        sock = listen(self.host, self.port, VARIABLES)
        self.bound_port = bound_port(sock)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        log.info("pages, health and metrics on http://%s:%d/", shown, self.bound_port)
        self.ready.set()
        try:
            await serve(create_app(self.web), sock, stop)
        finally:
            self.ready.clear()


class Served(Protocol):
    """What the service reads of ``watcher run``'s ``Runtime``."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def instance_id(self) -> str: ...


def web_service(
    runtime: Served,
    config: LiveConfig,
    scheduler_running: Callable[[], bool] | None,
    *,
    with_scheduler: bool = True,
    port: int | None = None,
) -> WebService | None:
    """What ``watcher run`` serves (None when ``WATCHER_HTTP_PORT`` is unset); ``watcher web``
    passes its ``port`` (0: any free one) and no scheduler. A ``ConfigError`` when the bind
    needs a token."""
    settings = runtime.settings
    if port is None:
        if not settings.http_port:
            return None
        port = settings.http_port
    runtime.metrics.set_instance(runtime.instance_id)
    health = Health(runtime.db, scheduler_running, with_scheduler=with_scheduler)
    web = Web(settings, runtime.db, config, health, runtime.metrics, runtime.instance_id)
    return WebService(web, host=settings.http_host, port=port)


RELOAD_EVERY_S = 5.0


async def run_web(settings: Settings, port: int, stop: asyncio.Event | None = None) -> None:
    """``watcher web``: the app alone on ``port`` until SIGINT/SIGTERM (or ``stop``), reading
    the store and the configuration files (re-read when they change)."""
    import contextlib
    import signal

    from watcher.runtime import Runtime
    from watcher.store.db import open_database

    config = LiveConfig.load(settings.feeds_path, settings.keywords_path, settings.model)
    db = open_database(settings.db_target)
    runtime = Runtime(settings=settings, db=db)
    if settings.instance_id:
        runtime.instance_id = settings.instance_id
    stop = stop or runtime.stop
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        service = web_service(runtime, config, None, with_scheduler=False, port=port)
        assert service is not None
        reloading = asyncio.create_task(_reload(config, stop))
        try:
            await service.run(stop)
        finally:
            stop.set()
            await reloading
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        db.close()


async def _reload(config: LiveConfig, stop: asyncio.Event) -> None:
    """Keep the pages on the configuration in force (a bad edit keeps the last good one)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), RELOAD_EVERY_S)
        except TimeoutError:
            result = await asyncio.to_thread(config.check)
            if result.status == "invalid" and result.edited:
                problems = "; ".join(str(p) for p in result.problems)
                log.warning("configuration not reloaded, the last good one stays: %s", problems)
