"""The state store: SQLite (WAL) by default, PostgreSQL for more than one instance.

``Database`` hides the two dialects behind one small synchronous API with ``?`` placeholders;
each feature keeps its queries in a module of its own here (sources, items, outbox, ...). The
async shell calls the store through ``asyncio.to_thread``.
"""

from __future__ import annotations

from watcher.store.db import Database, Tx, open_database

__all__ = ["Database", "Tx", "open_database"]
