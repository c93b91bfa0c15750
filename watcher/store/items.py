"""Items seen: identity is (source, guid), and the canonical URL is checked across sources."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.models import Item, from_epoch, to_epoch
from watcher.store.db import Database, Row, Tx


def content_hash(item: Item) -> str:
    text = "\x1f".join((item.title, item.summary, item.content))
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()


def known_guids(tx: Tx, source_id: str, guids: Sequence[str]) -> set[str]:
    """The ``guids`` of ``source_id`` already stored."""
    found: set[str] = set()
    for start in range(0, len(guids), 500):
        chunk = list(guids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(
            f"SELECT guid FROM items WHERE source_id = ? AND guid IN ({marks})",
            [source_id, *chunk],
        )
        found.update(r[0] for r in rows)
    return found


def known_urls(tx: Tx, urls: Sequence[str]) -> set[str]:
    """Of ``urls``, those stored for any source."""
    found: set[str] = set()
    wanted = [u for u in urls if u]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(f"SELECT DISTINCT url FROM items WHERE url IN ({marks})", chunk)
        found.update(r[0] for r in rows)
    return found


def insert_item(
    tx: Tx, item: Item, *, now: float, scores: dict[str, float] | None = None
) -> int | None:
    """Store a new item; return its id (None when (source, guid) was there already)."""
    row = tx.fetchone(
        "INSERT INTO items (source_id, guid, url, title, summary, language, content_hash,"
        " published_at, first_seen_at, scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        _row(item, now, scores),
    )
    return None if row is None else int(row[0])


def insert_items(tx: Tx, items: Sequence[tuple[Item, dict[str, float]]], *, now: float) -> int:
    """Store new items (with their scores) in one batch; return how many were new."""
    if not items:
        return 0
    return tx.executemany(
        "INSERT INTO items (source_id, guid, url, title, summary, language, content_hash,"
        " published_at, first_seen_at, scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [_row(item, now, scores) for item, scores in items],
    )


def _row(item: Item, now: float, scores: dict[str, float] | None) -> tuple[object, ...]:
    return (
        item.source_id,
        item.guid,
        item.url,
        item.title[:1000],
        item.summary[:2000],
        item.language,
        content_hash(item),
        to_epoch(item.published),
        now,
        json.dumps(scores or {}, separators=(",", ":")),
    )


def count_items(db: Database, source_id: str | None = None) -> int:
    with db.transaction() as tx:
        if source_id is None:
            n = tx.scalar("SELECT COUNT(*) FROM items")
        else:
            n = tx.scalar("SELECT COUNT(*) FROM items WHERE source_id = ?", (source_id,))
    return int(n or 0)


def prune_items(db: Database, older_than: float) -> int:
    """Delete items first seen before ``older_than`` (epoch); alerts keep their own copy, and
    items people voted on stay (their votes are the labels that tune the rules)."""
    with db.transaction() as tx:
        return max(
            0,
            tx.execute(
                "DELETE FROM items WHERE first_seen_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.item_id = items.id)",
                (older_than,),
            ),
        )


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as the store keeps it: title and summary (the content is not stored)."""

    id: int
    item: Item
    first_seen_at: float
    scores: dict[str, float]


_COLUMNS = "id, source_id, guid, url, title, summary, language, published_at, first_seen_at, scores"


def _stored(row: Row) -> StoredItem:
    try:
        scores = {str(k): float(v) for k, v in json.loads(row[9] or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        scores = {}
    item = Item(
        source_id=row[1],
        guid=row[2],
        url=row[3],
        title=row[4],
        summary=row[5],
        language=row[6],
        published=from_epoch(row[7]),
    )
    return StoredItem(int(row[0]), item, float(row[8]), scores)


def get_item(tx: Tx, item_id: int) -> StoredItem | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM items WHERE id = ?", (item_id,))
    return None if row is None else _stored(row)


def item_by_url(tx: Tx, url: str) -> StoredItem | None:
    """The newest stored item with this canonical URL."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM items WHERE url = ? ORDER BY id DESC LIMIT 1", (url,)
    )
    return None if row is None else _stored(row)


def recent_items(tx: Tx, limit: int) -> list[StoredItem]:
    """The ``limit`` items stored last, newest first."""
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM items ORDER BY id DESC LIMIT ?", (limit,))
    return [_stored(r) for r in rows]
