"""``/alerts``: what was sent, when, to which targets with what delivery state, the votes on
it, and which other outlets reported each story; newest first, ``PAGE_SIZE`` a page
(``?before=ID``), one source with ``?source=ID``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watcher.archive.view import CaptureState, capture_states
from watcher.models import Alert
from watcher.pages.text import whole_number
from watcher.store.alerts import alerts_before, count_alerts
from watcher.store.labels import Tally, item_tallies
from watcher.store.outbox import Delivery, deliveries
from watcher.store.subscribers import chat_names
from watcher.stories.reporters import with_reporters

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV = (("Alerts", "/alerts"),)
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert as the page shows it."""

    alert: Alert
    topics: tuple[str, ...]  # titles, in the alert's order
    deliveries: tuple[Delivery, ...]
    archived: CaptureState | None
    votes: Tally | None  # None: nobody voted on its item
    chats: Mapping[str, str]  # Telegram target -> the chat's name, where known

    @property
    def delivery_summary(self) -> str:
        """``3 sent, 1 pending`` over the alert's sends (edits not counted)."""
        counts: dict[str, int] = {}
        for d in self.deliveries:
            if d.action == "send":
                counts[d.status] = counts.get(d.status, 0) + 1
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"


@dataclass(frozen=True, slots=True)
class AlertsPage:
    rows: tuple[AlertRow, ...]
    total: int
    older: int | None  # ``before`` of the next page; None: this is the last
    source: str


def alert_rows(
    alerts: Sequence[Alert],
    sent: Mapping[int, Sequence[Delivery]],
    captures: Mapping[str, CaptureState],
    votes: Mapping[int, Tally],
    titles: Mapping[str, str],
    chats: Mapping[str, str],
) -> list[AlertRow]:
    return [
        AlertRow(
            a,
            tuple(titles.get(t, t) for t in a.topics),
            tuple(sent.get(a.id, ())),
            captures.get(a.url) if a.url else None,
            votes.get(a.item_id) if a.item_id else None,
            chats,
        )
        for a in alerts
    ]


def load_page(web: Web, before: int | None, source: str) -> AlertsPage:
    """One page of alerts with their deliveries, stories and archived copies (blocking)."""
    alerts = with_reporters(web.db, alerts_before(web.db, before, PAGE_SIZE + 1, source))
    more = len(alerts) > PAGE_SIZE
    alerts = alerts[:PAGE_SIZE]
    sent = deliveries(web.db, [a.id for a in alerts])
    chat_ids = {
        int(d.target)
        for ds in sent.values()
        for d in ds
        if d.channel == "telegram" and d.target.lstrip("-").isdigit()
    }
    chats = {str(k): v for k, v in chat_names(web.db, list(chat_ids)).items()}
    rows = alert_rows(
        alerts,
        sent,
        capture_states(web.db, [a.url for a in alerts if a.url]),
        item_tallies(web.db, [a.item_id for a in alerts if a.item_id]),
        web.config.topic_titles(),
        chats,
    )
    older = alerts[-1].id if more and alerts else None
    return AlertsPage(tuple(rows), count_alerts(web.db, source), older, source)


def routes(web: Web) -> list[BaseRoute]:
    async def alerts_page(request: Request) -> Response:
        before = whole_number(request.query_params.get("before"))
        source = request.query_params.get("source", "")[:200]
        page = await asyncio.to_thread(load_page, web, before, source)
        return web.render(request, "alerts.html.j2", {"page": page, "before": before})

    return [Route("/alerts", alerts_page, methods=["GET"])]
