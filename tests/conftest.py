"""Shared fixtures: the store on SQLite (in memory) and on PostgreSQL (a fresh schema), the
fake Telegram Bot API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from watcher.store import Database, open_database

TESTS = Path(__file__).parent
DATA = TESTS / "data"
PG_URL = os.environ.get("WATCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not here"
        return f"PostgreSQL at {PG_URL} is not reachable ({exc.__class__.__name__}: {exc})"


_PG_SKIP: str | bool | None = False  # False = not checked yet


def pg_skip_reason() -> str | None:
    global _PG_SKIP
    if _PG_SKIP is False:
        _PG_SKIP = _pg_reachable()
    return _PG_SKIP if isinstance(_PG_SKIP, str) else None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new, empty schema (dropped afterwards)."""
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def memdb() -> Iterator[Database]:
    """The in-memory SQLite store, migrated."""
    db = open_database(":memory:")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The store on both dialects: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        db = open_database(tmp_path / "watcher.db")
    else:
        db = open_database(request.getfixturevalue("pg_url"))
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    """A fake Telegram Bot API on 127.0.0.1 (token ``123:TEST``), for the Telegram tests."""
    with FakeTelegram("123:TEST") as server:
        yield server
