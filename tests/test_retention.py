"""Retention: `retention:` in feeds.yaml (validated with positions), the pruner using the
configuration in force, on SQLite and PostgreSQL; items batched with executemany count right."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from watcher.app import Pruner
from watcher.config.feeds import DEFAULT_RETENTION_S, parse_feeds
from watcher.errors import ConfigError
from watcher.models import Item
from watcher.store import items as items_store
from watcher.store.articles import CachedArticle, get_article, put_article
from watcher.store.db import Database

DAY = 86400.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: []\n", DEFAULT_RETENTION_S),
        ("retention: 14d\nsources: []\n", 14 * DAY),
        ("retention: 36h\nsources: []\n", 36 * 3600.0),
        ("retention: 172800\nsources: []\n", 2 * DAY),
    ],
)
def test_retention_is_read(text: str, expected: float) -> None:
    assert parse_feeds(text).retention == expected


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("sources: []\nretention: 2h\n", ":2:", "at least 1d"),
        ("sources: []\nretention: a month\n", ":2:", "not a duration"),
        # not a per-source setting: in defaults it would be copied into every source
        ("defaults:\n  retention: 30d\nsources: []\n", ":2:", "retention"),
    ],
)
def test_invalid_retention_says_where(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_feeds(text, "feeds.yaml")
    shown = "\n".join(str(p) for p in info.value.problems)
    assert f"feeds.yaml{where}" in shown and message in shown


def _item(n: int) -> Item:
    return Item(
        source_id="s",
        guid=f"g{n}",
        url=f"https://example.org/{n}",
        title=f"Title {n}",
        summary="Summary",
        content="",
        published=datetime.now(UTC),
        language="en",
    )


def test_batched_insert_counts_only_new_items(store_db: Database) -> None:
    now = time.time()
    with store_db.transaction() as tx:
        assert items_store.insert_items(tx, [(_item(1), {}), (_item(2), {"t": 1.5})], now=now) == 2
    with store_db.transaction() as tx:
        assert items_store.insert_items(tx, [(_item(2), {}), (_item(3), {})], now=now) == 1
        assert items_store.insert_items(tx, [], now=now) == 0
        assert tx.scalar("SELECT scores FROM items WHERE guid = 'g2'") == '{"t":1.5}'
    assert items_store.count_items(store_db) == 3


async def test_pruner_uses_the_retention_in_force(store_db: Database) -> None:
    now = time.time()
    with store_db.transaction() as tx:  # first seen 40, 20 and 5 days ago
        for n, age in enumerate((40, 20, 5)):
            items_store.insert_items(tx, [(_item(n), {})], now=now - age * DAY)
    retention = [30 * DAY]  # the live configuration; a reload swaps the value
    stop = asyncio.Event()
    pruner = Pruner(store_db, lambda: retention[0])
    task = asyncio.create_task(pruner.run(stop))
    for _ in range(200):
        if items_store.count_items(store_db) == 2:
            break
        await asyncio.sleep(0.01)
    assert items_store.count_items(store_db) == 2
    stop.set()
    await task
    with store_db.transaction() as tx:  # full-text articles go with the same retention
        for age in (40, 5):
            put_article(tx, CachedArticle(f"https://a.example/{age}", "", "ok", "text", "", 4,
                                          now - age * DAY))  # fmt: skip
    assert pruner.prune(now - 30 * DAY) == (0, 1)
    with store_db.transaction() as tx:
        assert get_article(tx, "https://a.example/5") is not None
        assert get_article(tx, "https://a.example/40") is None
    retention[0] = 10 * DAY
    stop = asyncio.Event()
    task = asyncio.create_task(Pruner(store_db, lambda: retention[0]).run(stop))
    for _ in range(200):
        if items_store.count_items(store_db) == 1:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    with store_db.transaction() as tx:
        assert [r[0] for r in tx.fetchall("SELECT guid FROM items")] == ["g2"]
