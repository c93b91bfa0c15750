"""``/items/{id}``: one stored item explained with the rules and model in force: its text with
the matched terms highlighted per topic, each topic's score arithmetic and required
entities, the relevance model's view and the nearest labelled items; its alerts, the votes
on it, and the label buttons (``POST /labels``, review.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watcher.models import Item
from watcher.pages.access import user_of
from watcher.pages.item_view import ItemView, item_view
from watcher.pages.stored import load_item
from watcher.store.items import StoredItem
from watcher.store.labels import Vote, votes_on

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ItemPage:
    stored: StoredItem
    item: Item  # what was scored: the stored text, and the article's when it was fetched
    view: ItemView
    votes: tuple[Vote, ...]
    mine: Vote | None  # this maintainer's label
    topics: dict[str, str]  # id -> title, for the buttons

    @property
    def candidates(self) -> tuple[str, ...]:
        """The topics it could have alerted, closest to their threshold first."""
        quiet = [t for t in self.view.result.topics if not t.alerted]
        quiet.sort(key=lambda t: -(t.score / t.threshold if t.threshold else 0.0))
        return tuple(t.topic for t in quiet)


def load_page(web: Web, item_id: int, voter: str) -> ItemPage | None:
    """The item and everything the page shows about it (blocking), None when not stored."""
    found = load_item(web.db, item_id=item_id)
    if found is None:
        return None
    stored, item = found
    view = item_view(web.config.scorer(), item)
    votes = tuple(votes_on(web.db, [item_id]).get(item_id, ()))
    mine = next((v for v in votes if v.voter == voter), None)
    return ItemPage(stored, item, view, votes, mine, dict(web.config.topic_titles()))


def routes(web: Web) -> list[BaseRoute]:
    async def item_page(request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        voter = f"web:{user_of(request) or ''}"
        page = await asyncio.to_thread(load_page, web, item_id, voter)
        if page is None:
            raise HTTPException(404, f"No item {item_id} is stored (items are kept for a while).")
        return web.render(request, "item.html.j2", {"page": page})

    return [Route("/items/{item_id:id}", item_page, methods=["GET"])]
