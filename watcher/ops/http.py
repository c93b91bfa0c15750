"""The health and metrics endpoint of ``watcher run`` (stdlib asyncio streams, no framework).

Off unless ``WATCHER_HTTP_PORT`` is set; bound to ``WATCHER_HTTP_HOST`` (127.0.0.1 unless told
otherwise). Two read-only routes:

* ``GET /healthz``: 200 when the scheduler runs and the store answers, 503 otherwise; the JSON
  body says which check failed and why.
* ``GET /metrics``: the Prometheus text format of this process's ``Metrics``, with the queue
  gauges read from the store just before.

It serves one short request per connection (``Connection: close``): enough for a container
HEALTHCHECK, a load balancer probe and a Prometheus scraper.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from watcher.errors import ConfigError
from watcher.ops.metrics import Metrics
from watcher.settings import Settings
from watcher.store.db import Database

log = logging.getLogger(__name__)

MAX_HEADER_LINES = 100
MAX_LINE = 8192
READ_TIMEOUT_S = 10.0
STORE_TIMEOUT_S = 5.0

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


@dataclass
class Health:
    """The checks behind ``/healthz``: the scheduler runs, the store answers."""

    db: Database
    # Tells whether the scheduler runs; None while no scheduler has been registered.
    scheduler_running: Callable[[], bool] | None = None
    store_timeout_s: float = STORE_TIMEOUT_S
    extra: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)

    async def check(self) -> tuple[bool, list[CheckResult]]:
        results = [self._check_scheduler(), await self._check_store()]
        for name, probe in self.extra.items():
            try:
                ok, detail = probe()
            except Exception as exc:  # a broken probe is a failing check, not a crash
                ok, detail = False, f"{exc.__class__.__name__}: {exc}"
            results.append(CheckResult(name, ok, detail))
        return all(r.ok for r in results), results

    def _check_scheduler(self) -> CheckResult:
        if self.scheduler_running is None:
            return CheckResult("scheduler", False, "no scheduler registered")
        try:
            running = bool(self.scheduler_running())
        except Exception as exc:
            return CheckResult("scheduler", False, f"{exc.__class__.__name__}: {exc}")
        return CheckResult("scheduler", running, "running" if running else "not running")

    async def _check_store(self) -> CheckResult:
        started = time.monotonic()
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(self.db.ping), self.store_timeout_s)
        except TimeoutError:
            return CheckResult(
                "store", False, f"no answer within {self.store_timeout_s:g} s ({self.db.dialect})"
            )
        elapsed_ms = (time.monotonic() - started) * 1000
        if not ok:
            return CheckResult("store", False, f"{self.db.dialect} store did not answer")
        return CheckResult("store", True, f"{self.db.dialect} answered in {elapsed_ms:.0f} ms")


class HttpService:
    """A ``Service`` of ``watcher run`` serving ``/healthz`` and ``/metrics``."""

    name = "http"

    def __init__(
        self,
        health: Health,
        metrics: Metrics,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        instance_id: str = "",
    ) -> None:
        self.health = health
        self.metrics = metrics
        self.host = host
        self.port = port
        self.instance_id = instance_id
        self.ready = asyncio.Event()  # set once listening; ``bound_port`` is known then
        self.bound_port: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_LINE)
        except OSError as exc:
            raise ConfigError(
                f"WATCHER_HTTP_HOST/WATCHER_HTTP_PORT: cannot listen on {self.host}:{self.port}:"
                f" {exc.strerror or exc}"
            ) from exc
        sockets = server.sockets or ()
        self.bound_port = int(sockets[0].getsockname()[1]) if sockets else None
        log.info("health and metrics on http://%s:%s/", self.host, self.bound_port)
        self.ready.set()
        try:
            async with server:
                await stop.wait()
        finally:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    # -- one request -----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                method, path = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            except TimeoutError:
                await _respond(writer, 408, b"request timeout\n", "text/plain", head=False)
                return
            except ValueError as exc:
                await _respond(writer, 400, f"{exc}\n".encode(), "text/plain", head=False)
                return
            head = method == "HEAD"
            if method not in ("GET", "HEAD"):
                await _respond(
                    writer,
                    405,
                    b"only GET and HEAD\n",
                    "text/plain",
                    head=False,
                    extra={"Allow": "GET, HEAD"},
                )
            elif path == "/healthz":
                status, body = await self.healthz()
                await _respond(writer, status, body, "application/json", head=head)
            elif path == "/metrics":
                body = await self.metrics_body()
                await _respond(writer, 200, body, self.metrics.content_type, head=head)
            else:
                await _respond(
                    writer, 404, b"not found: try /healthz or /metrics\n", "text/plain", head=head
                )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to tell it
        except Exception:
            log.exception("health/metrics request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def healthz(self) -> tuple[int, bytes]:
        ok, results = await self.health.check()
        payload: dict[str, Any] = {
            "status": "ok" if ok else "failing",
            "instance": self.instance_id,
            "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
        }
        failing = [f"{r.name}: {r.detail}" for r in results if not r.ok]
        if failing:
            payload["reason"] = "; ".join(failing)
        return (200 if ok else 503), (json.dumps(payload) + "\n").encode()

    async def metrics_body(self) -> bytes:
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self.metrics.refresh_from_store, self.health.db),
                self.health.store_timeout_s,
            )
        except TimeoutError:
            self.metrics.store_up.set(0)
        return self.metrics.render()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    try:
        line = await reader.readline()
    except (asyncio.LimitOverrunError, ValueError) as exc:
        raise ValueError("request line too long") from exc
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("malformed request line")
    for _ in range(MAX_HEADER_LINES):
        try:
            header = await reader.readline()
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise ValueError("header line too long") from exc
        if header in (b"\r\n", b"\n", b""):
            break
    else:
        raise ValueError("too many header lines")
    path = parts[1].split("?", 1)[0].split("#", 1)[0]
    return parts[0].upper(), path


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    *,
    head: bool,
    extra: dict[str, str] | None = None,
) -> None:
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Cache-Control": "no-store",
        "Connection": "close",
        **(extra or {}),
    }
    text = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
    text += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(text.encode("latin-1") + (b"" if head else body))
    await writer.drain()


class Served(Protocol):
    """What the endpoint reads of ``watcher run``'s ``Runtime`` (which holds these metrics, so
    ops/ does not import it back)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def instance_id(self) -> str: ...


def http_service(
    runtime: Served, scheduler_running: Callable[[], bool] | None
) -> HttpService | None:
    """The endpoint ``watcher run`` should serve, or None when ``WATCHER_HTTP_PORT`` is unset."""
    settings = runtime.settings
    if not settings.http_port:
        return None
    runtime.metrics.set_instance(runtime.instance_id)
    health = Health(runtime.db, scheduler_running)
    return HttpService(
        health,
        runtime.metrics,
        host=settings.http_host,
        port=settings.http_port,
        instance_id=runtime.instance_id,
    )
