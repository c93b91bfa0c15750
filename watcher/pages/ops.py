"""``/healthz`` and ``/metrics`` (watcher/ops/http.py): public, plain, for probes and scrapers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from watcher.ops.http import ops_routes

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV: tuple[tuple[str, str], ...] = ()


def routes(web: Web) -> list[BaseRoute]:
    return list(ops_routes(web.health, web.metrics, web.instance_id))
