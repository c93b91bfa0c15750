"""Stored items as the pages show and judge them (synchronous; call through a thread).

The store keeps an item's title and summary; when the full text of its article was fetched
(``fulltext: true`` sources) the article cache has it, and the item is scored with it, as
the pipeline scored it.
"""

from __future__ import annotations

import dataclasses

from watcher.models import Item
from watcher.rules.corpus import LabelledItem
from watcher.store import articles as article_store
from watcher.store import items as items_store
from watcher.store.db import Database, Tx
from watcher.store.items import StoredItem
from watcher.store.labels import TOPIC_VERDICTS, VotedItem, voted_items


def _with_articles(tx: Tx, stored: list[StoredItem]) -> list[StoredItem]:
    texts = article_store.texts_of(tx, [s.item.url for s in stored])
    out: list[StoredItem] = []
    for s in stored:
        text = texts.get(s.item.url, "")
        if len(text) > len(s.item.content):
            s = dataclasses.replace(s, item=dataclasses.replace(s.item, content=text))
        out.append(s)
    return out


def load_item(db: Database, item_id: int) -> StoredItem | None:
    with db.transaction() as tx:
        stored = items_store.get_item(tx, item_id)
        return None if stored is None else _with_articles(tx, [stored])[0]


def load_by_url(db: Database, url: str) -> StoredItem | None:
    with db.transaction() as tx:
        stored = items_store.item_by_url(tx, url)
        return None if stored is None else _with_articles(tx, [stored])[0]


def recent(db: Database, limit: int) -> list[StoredItem]:
    """The last ``limit`` stored items, newest first, as the pipeline scored them."""
    with db.transaction() as tx:
        return _with_articles(tx, items_store.recent_items(tx, limit))


def user_labelled(db: Database) -> list[LabelledItem]:
    """The stored items maintainers labelled, as labelled items (ids ``labels:<item id>``)."""
    voted = [(v, labels) for v in voted_items(db) if (labels := item_labels(v)) is not None]
    with db.transaction() as tx:
        texts = article_store.texts_of(tx, [v.url for v, _ in voted])
    out: list[LabelledItem] = []
    for v, labels in voted:
        item = Item(
            v.source_id,
            str(v.item_id),
            v.url,
            v.title,
            summary=v.summary,
            content=texts.get(v.url, ""),
            language=v.language,
        )
        out.append(LabelledItem(f"labels:{v.item_id}", item, labels))
    return out


def item_labels(voted: VotedItem) -> frozenset[str] | None:
    """The topics an item is labelled with: the latest admin vote decides (None: no admin
    voted on it)."""
    labels = [v for v in voted.votes if v.is_label]
    if not labels:
        return None
    last = max(labels, key=lambda v: (v.updated_at, v.id))
    if last.verdict == "relevant":
        return frozenset(voted.alert_topics)
    if last.verdict in TOPIC_VERDICTS and last.topic:
        return frozenset({last.topic})
    return frozenset()
