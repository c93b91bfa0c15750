"""The health and metrics endpoints: ``/healthz`` and ``/metrics`` routes of the web app.

Served by ``watcher run`` on ``WATCHER_HTTP_HOST:WATCHER_HTTP_PORT`` (off unless the port is
set) and by ``watcher web``, with the maintainer pages (watcher/pages), never behind a login:

* ``GET /healthz``: 200 when the scheduler runs and the store answers, 503 otherwise; the JSON
  body says which check failed and why. ``watcher web`` runs no scheduler: it checks the store.
* ``GET /metrics``: the Prometheus text format of this process's ``Metrics``, with the queue
  gauges read from the store just before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watcher.ops.metrics import Metrics
from watcher.store.db import Database

log = logging.getLogger(__name__)

STORE_TIMEOUT_S = 5.0
NO_STORE = {"Cache-Control": "no-store"}


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
    with_scheduler: bool = True  # False: this process polls nothing (``watcher web``)
    store_timeout_s: float = STORE_TIMEOUT_S
    extra: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)

    async def check(self) -> tuple[bool, list[CheckResult]]:
        results = [self._check_scheduler()] if self.with_scheduler else []
        results.append(await self._check_store())
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


async def healthz(health: Health, instance_id: str) -> tuple[int, bytes]:
    ok, results = await health.check()
    payload: dict[str, Any] = {
        "status": "ok" if ok else "failing",
        "instance": instance_id,
        "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
    }
    failing = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    if failing:
        payload["reason"] = "; ".join(failing)
    return (200 if ok else 503), (json.dumps(payload) + "\n").encode()


async def metrics_body(health: Health, metrics: Metrics) -> bytes:
    try:
        await asyncio.wait_for(
            asyncio.to_thread(metrics.refresh_from_store, health.db), health.store_timeout_s
        )
    except TimeoutError:
        metrics.store_up.set(0)
    return metrics.render()


def ops_routes(health: Health, metrics: Metrics, instance_id: str) -> list[Route]:
    """``/healthz`` and ``/metrics`` (GET and HEAD)."""

    async def get_healthz(request: Request) -> Response:
        status, body = await healthz(health, instance_id)
        return Response(body, status, headers=NO_STORE, media_type="application/json")

    async def get_metrics(request: Request) -> Response:
        body = await metrics_body(health, metrics)
        return Response(body, 200, headers={**NO_STORE, "Content-Type": metrics.content_type})

    return [
        Route("/healthz", get_healthz, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
    ]
