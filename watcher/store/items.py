"""Items seen: identity is (source, guid), and the canonical URL is checked across sources."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.models import Item, from_epoch, to_epoch
from watcher.store.db import Database, Tx


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
    """What the store knows about one item: its text as stored, how it scored then, its
    alert and what the relevance model said (``/explain ID``)."""

    id: int
    source_id: str
    url: str
    title: str
    summary: str
    language: str
    published_at: float | None
    first_seen_at: float
    scores: dict[str, float]
    alert_id: int | None
    alert_topics: tuple[str, ...]
    model_notes: tuple[str, ...]

    def as_item(self, content: str = "") -> Item:
        return Item(
            source_id=self.source_id,
            guid=str(self.id),
            url=self.url,
            title=self.title,
            summary=self.summary,
            content=content,
            published=from_epoch(self.published_at),
            language=self.language,
        )


def stored_item(
    db: Database, *, item_id: int | None = None, alert_id: int | None = None, url: str = ""
) -> StoredItem | None:
    """The item with this id, the item of this alert, or the newest item at this canonical
    URL (or whose alert has it); None when the store has none."""
    with db.transaction() as tx:
        if alert_id is not None:
            item_id = tx.scalar("SELECT item_id FROM alerts WHERE id = ?", (alert_id,))
        elif url:
            item_id = tx.scalar(
                "SELECT id FROM items WHERE url = ? ORDER BY id DESC LIMIT 1", (url,)
            ) or tx.scalar("SELECT item_id FROM alerts WHERE url = ?", (url,))
        if item_id is None:
            return None
        row = tx.fetchone(
            "SELECT id, source_id, url, title, summary, language, published_at, first_seen_at,"
            " scores FROM items WHERE id = ?",
            (item_id,),
        )
        if row is None:
            return None
        alert = tx.fetchone(
            "SELECT id, topics FROM alerts WHERE item_id = ? ORDER BY id LIMIT 1", (item_id,)
        )
        notes = tx.fetchall(
            "SELECT note FROM model_decisions WHERE item_id = ? ORDER BY id", (item_id,)
        )
    return StoredItem(
        id=int(row[0]),
        source_id=row[1],
        url=row[2],
        title=row[3],
        summary=row[4],
        language=row[5],
        published_at=float(row[6]) if row[6] is not None else None,
        first_seen_at=float(row[7]),
        scores={str(k): float(v) for k, v in json.loads(row[8] or "{}").items()},
        alert_id=int(alert[0]) if alert is not None else None,
        alert_topics=tuple(json.loads(alert[1])) if alert is not None else (),
        model_notes=tuple(str(n[0]) for n in notes if n[0]),
    )
