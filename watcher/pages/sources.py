"""``/sources``: each source's health (ok, failing since when, never polled, disabled), last
success, last error, items, and its alerts per day over the last ``DAYS`` days as a chart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watcher.durations import ago
from watcher.pages.chart import bars_svg
from watcher.pages.text import day
from watcher.sources.base import SourceConfig
from watcher.store.alerts import alerts_per_day
from watcher.store.sources import SourceState, all_states, item_counts

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV = (("Sources", "/sources"),)
DAYS = 30
DAY_S = 86400


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: str
    name: str
    url: str
    health: str  # ok, failing, never polled, disabled, removed (in the store, not in feeds.yaml)
    state: SourceState | None
    items: int
    alerts: int  # in the chart's days
    chart: Markup
    failing_since: str  # "" unless failing

    @property
    def failing(self) -> bool:
        return self.health == "failing"


def health(config: SourceConfig | None, state: SourceState | None) -> str:
    if config is None:
        return "removed"
    if not config.enabled:
        return "disabled"
    if state is None or state.last_checked_at is None:
        return "never polled"
    return "failing" if state.consecutive_failures else "ok"


def failing_since(state: SourceState | None, now: float) -> str:
    """A failure streak runs since the last success (the scheduler's rule for notices too)."""
    if state is None or not state.consecutive_failures:
        return ""
    if state.last_success_at is None:
        return "never worked"
    return f"since {ago(state.last_success_at, now)}"


def source_rows(
    sources: Sequence[SourceConfig],
    states: Mapping[str, SourceState],
    items: Mapping[str, int],
    per_day: Mapping[str, Mapping[int, int]],
    now: float,
) -> list[SourceRow]:
    """Every configured source, then those the store knows that feeds.yaml no longer has."""
    today = int(now // DAY_S)
    days = range(today - DAYS + 1, today + 1)
    labels = [day(d * DAY_S) for d in days]
    configured = {s.id: s for s in sources}
    ids = [s.id for s in sources] + sorted(set(states) - set(configured))
    rows = []
    for source_id in ids:
        config, state = configured.get(source_id), states.get(source_id)
        counts = [per_day.get(source_id, {}).get(d, 0) for d in days]
        rows.append(
            SourceRow(
                source_id,
                config.display_name if config else source_id,
                config.url if config else (state.url if state else ""),
                health(config, state),
                state,
                items.get(source_id, 0),
                sum(counts),
                bars_svg(counts, labels, f"alerts per day, {source_id}"),
                failing_since(state, now),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Totals:
    svg: Markup
    first: str  # the first day shown
    last: str
    peak: int  # most alerts in one day


def totals_chart(per_day: Mapping[str, Mapping[int, int]], now: float) -> Totals:
    today = int(now // DAY_S)
    days = range(today - DAYS + 1, today + 1)
    counts = [sum(c.get(d, 0) for c in per_day.values()) for d in days]
    labels = [day(d * DAY_S) for d in days]
    svg = bars_svg(counts, labels, "alerts per day, all sources", height=60)
    return Totals(svg, labels[0], labels[-1], max(counts))


def load(web: Web, now: float) -> dict[str, object]:
    per_day = alerts_per_day(web.db, (int(now // DAY_S) - DAYS + 1) * DAY_S)
    rows = source_rows(
        web.config.feeds().sources, all_states(web.db), item_counts(web.db), per_day, now
    )
    return {
        "rows": rows,
        "total": totals_chart(per_day, now),
        "failing": sum(r.failing for r in rows),
        "days": DAYS,
        "now": now,
    }


def routes(web: Web) -> list[BaseRoute]:
    async def sources_page(request: Request) -> Response:
        context = await asyncio.to_thread(load, web, time.time())
        return web.render(request, "sources.html.j2", {**context, "ago": ago})

    return [Route("/sources", sources_page, methods=["GET"])]
