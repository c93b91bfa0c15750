"""`watcher db copy`: a SQLite installation moved into PostgreSQL with nothing lost.

Every table of every migration present when the tests run is filled (core tables with real
rows through the store API, any other table with generated rows that follow its foreign keys),
copied, and compared value by value.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from watcher.cli import main
from watcher.cli.db import backup_sqlite, copy_sqlite_to_postgres
from watcher.errors import StoreError
from watcher.models import Match
from watcher.store import Database, open_database
from watcher.store import outbox as ob
from watcher.store.alerts import get_alerts, insert_alert

pytestmark = pytest.mark.postgres


def _alert(db: Database, key: str, title: str, now: float) -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=None,
            source_id="rfa-ko",
            source_name="RFA 한국어",
            title=title,
            url=f"https://example.org/{key}",
            summary="Задержан в Москве",
            language="ko",
            published=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
            topics=["repatriation", "detention"],
            score=4.25,
            matches=[Match("강제북송", "강제북송", "title", 0, 4, 2.0, "강제북송 ...")],
            now=now,
        )
        assert alert is not None
        ob.enqueue(tx, alert.id, "telegram", ["-100123", "42"], now)
        ob.enqueue(tx, alert.id, "console", ["-"], now)
        return alert.id


def _value(decl: str, table: str, column: str, i: int) -> Any:
    t = decl.upper()
    if "INT" in t:
        return 1000 + 7 * i
    if any(k in t for k in ("REAL", "DOUB", "FLOA", "NUMERIC")):
        return 1_700_000_000.25 + i
    if "BLOB" in t or "BYTEA" in t:
        return bytes([0, 255, i % 256]) + b"\x00blob"
    if "BOOL" in t:
        return i % 2
    return f"{table}.{column} #{i} 탈북민 беженцы \"quoted\" 'x' \\ tab\t"


def fill_every_table(path: Path) -> dict[str, int]:
    """Give every empty table rows (foreign keys point at existing rows); return row counts."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'schema_migrations' ORDER BY name"
        )
    ]
    pending = [t for t in tables if conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0]
    for _ in range(len(pending) + 1):  # enough passes for any foreign-key order
        for table in list(pending):
            fks = {
                str(r[3]): (str(r[2]), str(r[4]))
                for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')
            }
            if any(
                conn.execute(f'SELECT COUNT(*) FROM "{ref}"').fetchone()[0] == 0
                for ref, _ in fks.values()
                if ref != table
            ):
                continue
            cols = list(conn.execute(f'PRAGMA table_info("{table}")'))
            for i in range(1, 3):
                values = []
                for _cid, name, decl, _notnull, _default, _pk in cols:
                    if name in fks:
                        ref, ref_col = fks[name]
                        values.append(
                            conn.execute(f'SELECT MIN("{ref_col}") FROM "{ref}"').fetchone()[0]
                        )
                    else:
                        values.append(_value(decl, table, name, i))
                marks = ", ".join("?" for _ in cols)
                names = ", ".join(f'"{c[1]}"' for c in cols)
                conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
            pending.remove(table)
    assert not pending, f"could not fill {pending}"
    counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return counts


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    """A SQLite store as `watcher run` leaves it: alerts, outbox states, sources, all tables."""
    path = tmp_path / "state" / "watcher.db"
    db = open_database(path)
    ids = [_alert(db, f"k{i}", f"제목 {i}", 1000.0 + i) for i in range(5)]
    with db.transaction() as tx:  # a gap in the ids, as after pruning
        tx.execute("DELETE FROM alerts WHERE id = ?", (ids[1],))
    rows = ob.claim(db, "telegram", "old-host:1", now=2000.0)
    ob.mark_sent(db, rows[0].id, "msg-77", now=2001.0)
    ob.mark_retry(db, rows[1].id, "429 Too Many Requests", retry_at=2100.0)
    ob.mark_dead(db, rows[2].id, "bot was blocked", now=2002.0)
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO sources (id, url, etag, last_modified, body_hash, next_check_at,"
            " last_checked_at, last_success_at, last_error_at, last_error_kind, last_error,"
            " consecutive_failures, first_polled_at, items_seen, lease_owner, lease_until)"
            " VALUES ('rfa-ko', 'https://www.rfa.org/korean/rss2.xml', 'W/\"e1\"',"
            " 'Sun, 01 Mar 2026 10:00:00 GMT', 'abc', 3000.5, 2000.5, 2000.5, NULL, NULL, NULL,"
            " 0, 1000.0, 17, 'old-host:1', 2060.0),"
            " ('broken', 'https://example.invalid/feed', NULL, NULL, NULL, 3000.0, 2000.0,"
            " NULL, 2000.0, 'timeout', 'read timed out', 3, 1000.0, 0, NULL, NULL)"
        )
    db.close()
    fill_every_table(path)
    return path


def table_rows(conn: Any, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(f'SELECT {cols} FROM "{table}"').fetchall()
    norm = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    return sorted(norm, key=repr)


def test_copy_moves_every_row_of_every_table(installation: Path, pg_url: str) -> None:
    copied = {c.table: c.rows for c in copy_sqlite_to_postgres(installation, pg_url)}

    src = sqlite3.connect(installation)
    tables = [
        r[0]
        for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'schema_migrations'"
        )
    ]
    assert set(copied) == set(tables)
    assert {"sources", "items", "alerts", "outbox"} <= set(tables)
    with psycopg.connect(pg_url) as pg:
        for table in tables:
            columns = [str(c[1]) for c in src.execute(f'PRAGMA table_info("{table}")')]
            want = table_rows(src, table, columns)
            assert want, f"{table} was not filled: the test would prove nothing"
            assert copied[table] == len(want)
            got = table_rows(pg, table, columns)
            assert got == want, table  # (SQLite 0/1 == PostgreSQL False/True in Python)
        pg_version = pg.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    src_version = src.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    src.close()
    assert pg_version == src_version


def test_copied_store_works_and_new_ids_do_not_collide(installation: Path, pg_url: str) -> None:
    copy_sqlite_to_postgres(installation, pg_url)
    db = open_database(pg_url)
    try:
        with db.transaction() as tx:
            max_alert = tx.scalar("SELECT MAX(id) FROM alerts")
            max_outbox = tx.scalar("SELECT MAX(id) FROM outbox")
        new_id = _alert(db, "after-move", "새 기사", 5000.0)
        assert new_id > max_alert
        with db.transaction() as tx:
            assert tx.scalar("SELECT MIN(id) FROM outbox WHERE alert_id = ?", (new_id,)) > (
                max_outbox
            )
        # The moved alert reads back intact, and the retry row is still due later.
        alerts = get_alerts(db, [new_id, 1])
        assert alerts[1].title == "제목 0"
        assert alerts[1].matches[0].text == "강제북송"
        assert alerts[1].published == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        # The old owner's lease (until 2060) moved with the rows: nobody sends them twice...
        assert ob.claim(db, "telegram", "new-host:1", now=2050.0) == []
        # ...and once it has run out they come back, except the one waiting to retry at 2100.
        back = ob.claim(db, "telegram", "new-host:1", now=2061.0)
        assert len(back) == 5
        assert all(r.attempts == 0 for r in back)
        assert [r.attempts for r in ob.claim(db, "telegram", "new-host:1", now=2101.0)] == [1]
        assert ob.pending_count(db, "console") == 5
    finally:
        db.close()


def test_non_empty_target_is_refused_unless_replaced(installation: Path, pg_url: str) -> None:
    db = open_database(pg_url)
    marker = _alert(db, "already-here", "target row", 1.0)
    db.close()
    with pytest.raises(StoreError, match=r"already holds rows in .*alerts.*--replace"):
        copy_sqlite_to_postgres(installation, pg_url)
    db = open_database(pg_url)
    try:
        with db.transaction() as tx:  # untouched
            assert tx.scalar("SELECT COUNT(*) FROM alerts") == 1
            assert tx.scalar("SELECT title FROM alerts WHERE id = ?", (marker,)) == "target row"
    finally:
        db.close()

    copied = {c.table: c.rows for c in copy_sqlite_to_postgres(installation, pg_url, replace=True)}
    assert copied["alerts"] == 4
    db = open_database(pg_url)
    try:
        with db.transaction() as tx:
            assert tx.scalar("SELECT COUNT(*) FROM alerts WHERE dedupe_key = 'already-here'") == 0
            assert tx.scalar("SELECT COUNT(*) FROM alerts") == 4
    finally:
        db.close()


def test_a_failed_copy_changes_nothing(installation: Path, pg_url: str) -> None:
    conn = sqlite3.connect(installation, isolation_level=None)
    # PostgreSQL text cannot hold NUL: the copy fails at the outbox, the last table copied,
    # after alerts, items and sources went in.
    conn.execute(
        "UPDATE outbox SET last_error = ? WHERE id = (SELECT MAX(id) FROM outbox)", ("a\x00b",)
    )
    conn.close()
    with pytest.raises(StoreError, match="nothing was changed"):
        copy_sqlite_to_postgres(installation, pg_url)
    with psycopg.connect(pg_url) as pg:
        for table in ("sources", "alerts", "outbox"):
            assert pg.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_text("hello"), "not a SQLite database"),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE x (a)").connection.commit(),
            "not a watcher store",
        ),
    ],
)
def test_bad_sources_get_clear_errors(tmp_path: Path, pg_url: str, make: Any, message: str) -> None:
    path = tmp_path / "src.db"
    make(path)
    with pytest.raises(StoreError, match=message):
        copy_sqlite_to_postgres(path, pg_url)


def test_a_newer_source_and_a_non_postgres_target_are_refused(
    installation: Path, pg_url: str, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="must be a postgresql:// URL"):
        copy_sqlite_to_postgres(installation, str(tmp_path / "other.db"))
    conn = sqlite3.connect(installation)
    conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 9999, newer than this watcher"):
        copy_sqlite_to_postgres(installation, pg_url)


def test_cli_copy_prints_counts_and_errors_exit_2(
    installation: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--from", str(installation), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "alerts" in out and "4 rows" in out
    assert "copied" in out
    assert main(["db", "copy", "--from", str(installation), "--to", pg_url]) == 2
    assert "--replace" in capsys.readouterr().err


def test_backup_is_a_complete_consistent_copy(installation: Path, tmp_path: Path) -> None:
    target = tmp_path / "backups" / "watcher-1.db"
    assert backup_sqlite(installation, target) > 0
    a, b = sqlite3.connect(installation), sqlite3.connect(target)
    for (table,) in a.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        q = f'SELECT * FROM "{table}" ORDER BY 1'
        assert a.execute(q).fetchall() == b.execute(q).fetchall(), table
    a.close()
    b.close()
    with pytest.raises(StoreError, match="exists"):
        backup_sqlite(installation, target)


def test_cli_migrate_and_backup(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "fresh.db"
    assert main(["--db", str(db_path), "db", "migrate"]) == 0
    assert "schema version" in capsys.readouterr().out
    assert main(["--db", str(db_path), "db", "backup", "--to", str(tmp_path / "b.db")]) == 0
    assert "integrity ok" in capsys.readouterr().out
    assert main(["--db", pg_url, "db", "backup", "--to", str(tmp_path / "c.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
