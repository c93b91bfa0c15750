"""``/review``: near misses (items that had a topic's entities but not its score) and the
relevance model's decisions (possible matches sent, rule hits held back), newest first,
``PAGE_SIZE`` a page, each with label buttons; ``POST /labels`` records a label.

A maintainer's label is an admin's vote (``watcher.store.labels.record_vote``, voter
``web:<name>``, channel ``web``): it goes into ``watcher labels export`` like a Telegram
admin's. Without ``?all=1`` the page lists what no admin has labelled yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from watcher.pages.access import safe_next, user_of
from watcher.pages.text import whole_number
from watcher.store.labels import (
    MODEL_HELD,
    MODEL_POSSIBLE,
    NearMiss,
    Tally,
    Vote,
    item_tallies,
    near_misses,
    record_vote,
    votes_on,
)

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV = (("Review", "/review"),)
PAGE_SIZE = 30
REASONS = {
    "below_threshold": "below the threshold",
    MODEL_POSSIBLE: "sent as a possible match by the relevance model",
    MODEL_HELD: "held back by the relevance model",
}


@dataclass(frozen=True, slots=True)
class ReviewRow:
    miss: NearMiss
    tally: Tally | None
    mine: Vote | None  # this maintainer's label on the item

    @property
    def reason(self) -> str:
        return REASONS.get(self.miss.reason, self.miss.reason)

    @property
    def sent(self) -> bool:
        """The item was sent (a possible match): it is judged as an alert."""
        return self.miss.reason == MODEL_POSSIBLE and self.miss.alert_id is not None


@dataclass(frozen=True, slots=True)
class ReviewPage:
    rows: tuple[ReviewRow, ...]
    first: bool  # the newest page
    older: str  # ``after`` of the next page ("" on the last)
    all: bool
    topics: Mapping[str, str]  # id -> title, for the buttons


def review_rows(
    misses: Sequence[NearMiss],
    tallies: Mapping[int, Tally],
    votes: Mapping[int, Sequence[Vote]],
    voter: str,
) -> list[ReviewRow]:
    rows = []
    for m in misses:
        mine = next((v for v in votes.get(m.item_id, ()) if v.voter == voter), None)
        rows.append(ReviewRow(m, tallies.get(m.item_id), mine))
    return rows


def load_page(
    web: Web, after: tuple[float, int] | None, everything: bool, voter: str
) -> ReviewPage:
    """One page of near misses with their votes (blocking). Pages follow the last row shown
    (not an offset): labelling items does not make the next page skip any."""
    misses = near_misses(web.db, limit=PAGE_SIZE + 1, include_labelled=everything, after=after)
    more = len(misses) > PAGE_SIZE
    misses = misses[:PAGE_SIZE]
    ids = [m.item_id for m in misses]
    rows = review_rows(misses, item_tallies(web.db, ids), votes_on(web.db, ids), voter)
    last = misses[-1] if misses else None
    older = f"{last.created_at!r}:{last.item_id}" if more and last is not None else ""
    topics = dict(web.config.topic_titles())
    return ReviewPage(tuple(rows), after is None, older, everything, topics)


def parse_after(value: str) -> tuple[float, int] | None:
    """``1796149881.31:42`` (a near miss's time and item) as the place to page on from."""
    when, _, item = value.partition(":")
    try:
        at = float(when)
    except ValueError:
        return None
    item_id = whole_number(item)
    if item_id is None or at != at or abs(at) > 1e12:
        return None
    return at, item_id


def parse_label(label: str, topic: str) -> tuple[str, str | None]:
    """A label button's value (``should_alert:repatriation``, ``wrong_topic`` with the chosen
    topic, ``relevant``) as (verdict, topic)."""
    verdict, _, named = label.partition(":")
    chosen = named or topic
    return verdict, (chosen or None) if verdict in ("should_alert", "wrong_topic") else None


def routes(web: Web) -> list[BaseRoute]:
    async def review_page(request: Request) -> Response:
        after = parse_after(request.query_params.get("after", "")[:64])
        everything = request.query_params.get("all") == "1"
        voter = f"web:{user_of(request) or ''}"
        data = await asyncio.to_thread(load_page, web, after, everything, voter)
        return web.render(request, "review.html.j2", {"page": data})

    async def label(request: Request) -> Response:
        form = await request.form()
        item_id = whole_number(form.get("item_id"))
        if item_id is None:
            raise HTTPException(400, "Which item? The form has no item id.")
        verdict, topic = parse_label(str(form.get("label") or ""), str(form.get("topic") or ""))
        if topic is not None and topic not in web.config.topic_titles():
            raise HTTPException(400, f"Unknown topic {topic[:64]!r}: pick one of the list.")
        user = user_of(request) or "?"

        def write() -> None:
            record_vote(
                web.db,
                voter=f"web:{user}",
                role="admin",
                channel="web",
                item_id=item_id,
                verdict=verdict,
                topic=topic,
                alert_id=whole_number(form.get("alert_id")),
                now=time.time(),
            )

        try:
            await asyncio.to_thread(write)
        except ValueError as exc:
            raise HTTPException(400, f"Not recorded: {exc}.") from exc
        request.state.audit = f"label item {item_id}: {verdict}" + (f" {topic}" if topic else "")
        back = safe_next(str(form.get("back") or "/review"))
        return RedirectResponse(f"{back}#item-{item_id}", 303)

    return [
        Route("/review", review_page, methods=["GET"]),
        Route("/labels", label, methods=["POST"]),
    ]
