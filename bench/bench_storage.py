"""Bytes per stored item: SQLite file growth per 10,000 real-looking items (items table with
their scores), and the same on PostgreSQL when ``--pg URL`` is given; then prune them all.

Items are the real fixture feeds' entries (tests/data/feeds/real, parsed as a poll would),
scored with the shipped keywords.yaml, stored in polls of 50 as the pipeline stores them, each
copy with its own guid and URL.

    python bench/bench_storage.py [--items 10000] [--pg postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher.errors import FetchError
from watcher.models import Item
from watcher.parse.feed import parse_feed
from watcher.rules import load_rules
from watcher.store import items as items_store
from watcher.store.db import Database, open_database

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "feeds" / "real"


def real_items() -> list[Item]:
    out: list[Item] = []
    for file in sorted(REAL.glob("*.xml")):
        try:
            parsed = parse_feed(file.read_bytes(), headers={}, source_id=file.stem)
        except FetchError:
            continue
        out.extend(parsed.items)
    return out


def store(db: Database, items: list[Item], n: int, scores: list[dict[str, float]]) -> None:
    now = time.time()
    batch: list[tuple[Item, dict[str, float]]] = []
    for i in range(n):
        it = items[i % len(items)]
        copy = replace(it, guid=f"{it.guid}#{i}", url=f"{it.url}?copy={i}" if it.url else "")
        batch.append((copy, scores[i % len(items)]))
        if len(batch) == 50:
            with db.transaction() as tx:
                items_store.insert_items(tx, batch, now=now)
            batch = []
    if batch:
        with db.transaction() as tx:
            items_store.insert_items(tx, batch, now=now)


def sqlite_bytes(path: Path) -> int:
    """The file's size with the WAL folded in."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return path.stat().st_size


def pg_bytes(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar("SELECT pg_total_relation_size('items')"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--pg", default="", help="also measure on this PostgreSQL database")
    args = ap.parse_args()
    items = real_items()
    rules = load_rules(ROOT / "keywords.yaml")
    scores = [
        {t.topic: round(t.score, 3) for t in rules.score(it, explain=False).topics} for it in items
    ]
    text = sum(len(it.title) + len(it.summary[:2000]) for it in items) / len(items)
    print(f"{len(items)} real items from {REAL.name}/, mean title+summary {text:.0f} chars")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "size.db"
        db = open_database(str(path))
        before = sqlite_bytes(path)
        store(db, items, args.items, scores)
        after = sqlite_bytes(path)
        per = (after - before) / args.items
        print(
            f"SQLite: {args.items} items grew the file by {(after - before) / 1e6:.1f} MB:"
            f" {per:.0f} bytes per item (items table, indexes, scores)"
        )
        removed = items_store.prune_items(db, time.time() + 1)
        print(f"SQLite: pruned {removed}; the file keeps its pages for reuse (no VACUUM)")
        db.close()
    if args.pg:
        measure_pg(args.pg, items, args.items, scores)


def measure_pg(url: str, items: list[Item], n: int, scores: list[dict[str, float]]) -> None:
    """The same on PostgreSQL, in a schema of its own (dropped afterwards)."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        db = open_database(f"{url}{sep}options=-csearch_path%3D{schema}")
        before = pg_bytes(db)
        store(db, items, n, scores)
        per = (pg_bytes(db) - before) / n
        print(f"PostgreSQL: {per:.0f} bytes per item (items table with its indexes and TOAST)")
        db.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
