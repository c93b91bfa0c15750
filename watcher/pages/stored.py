"""Stored items as the pages show and judge them (synchronous; call through a thread).

The store keeps an item's title and summary; when the full text of its article was fetched
(``fulltext: true`` sources) the article cache has it, and the item is scored with it, as
the pipeline scored it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from watcher.labels import export
from watcher.models import Item
from watcher.rules.corpus import LabelledItem, item_from_json
from watcher.store import articles as article_store
from watcher.store import items as items_store
from watcher.store.db import Database
from watcher.store.items import StoredItem, stored_item
from watcher.store.labels import voted_items


def _with_articles(db: Database, items: list[tuple[int, Item]]) -> list[tuple[int, Item]]:
    with db.transaction() as tx:
        texts = article_store.texts_of(tx, [item.url for _, item in items])
    out: list[tuple[int, Item]] = []
    for item_id, item in items:
        text = texts.get(item.url, "")
        if len(text) > len(item.content):
            item = dataclasses.replace(item, content=text)
        out.append((item_id, item))
    return out


def load_item(
    db: Database, *, item_id: int | None = None, url: str = ""
) -> tuple[StoredItem, Item] | None:
    """The stored item (by id, or the newest at a canonical URL) and its text to score."""
    stored = stored_item(db, item_id=item_id, url=url)
    if stored is None:
        return None
    [(_, item)] = _with_articles(db, [(stored.id, stored.as_item())])
    return stored, item


def recent(db: Database, limit: int) -> list[tuple[int, Item]]:
    """The last ``limit`` stored items, newest first, as the pipeline scored them."""
    return _with_articles(db, items_store.recent_items(db, limit))


def user_labelled(db: Database, topics: Collection[str]) -> list[LabelledItem]:
    """The items people labelled, decided as ``watcher labels export`` decides them (admins'
    labels; ``topics``: those of the rules in force), ids ``labels:<item id>``."""
    lines = export(voted_items(db), topics).lines
    items = [(int(str(line["id"]).removeprefix("item-")), item_from_json(line)) for line in lines]
    texts = dict(_with_articles(db, items))
    return [
        LabelledItem(f"labels:{i}", texts[i], frozenset(line["labels"]), str(line.get("story", "")))
        for (i, _), line in zip(items, lines, strict=True)
    ]
