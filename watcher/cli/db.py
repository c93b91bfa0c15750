"""``watcher db``: migrate the store, back up a SQLite store, move SQLite to PostgreSQL.

``watcher db copy --from state/watcher.db --to postgresql://...`` moves an installation: it
brings the target up to the current migrations, then copies every table of the source (all
rows, all columns, ids kept) in one PostgreSQL transaction, in foreign-key order, checks the
row counts and moves each identity sequence past the copied ids so new rows never collide.
A target that already holds rows is refused unless ``--replace`` says to empty it first. The
source is only read (one read transaction: a consistent snapshot even while it is in use,
though rows written after the copy started are not copied - stop ``watcher run`` first).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.errors import StoreError
from watcher.logs import redact_url
from watcher.store.db import available_migrations, open_database, private_file

SKIP_TABLES = frozenset({"schema_migrations"})


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    rows: int


# -- the copy -------------------------------------------------------------------------------
def copy_sqlite_to_postgres(
    source: Path, target_url: str, *, replace: bool = False
) -> list[TableCopy]:
    """Copy every table of the SQLite store ``source`` into the PostgreSQL store at ``target_url``.

    Raises ``StoreError`` (and changes nothing in the target's tables) when the source is not
    a watcher store, is newer than this program, has a table or column the target lacks, or
    when the target holds rows and ``replace`` is false.
    """
    if not target_url.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"--to must be a postgresql:// URL, not {target_url!r}")
    src = _open_sqlite_source(source)
    try:
        src.execute("BEGIN")  # one read transaction: a consistent snapshot
        version = _source_version(src, source)
        latest = max((v for v, _, _ in available_migrations()), default=0)
        if version > latest:
            raise StoreError(
                f"{source} is at schema version {version}, newer than this watcher ({latest}):"
                " upgrade watcher first"
            )
        tables = _sqlite_tables(src)
        order = _dependency_order(src, tables)
        # Bring the target up to the current migrations (idempotent, advisory-locked).
        open_database(target_url).close()
        return _copy_into_postgres(src, order, tables, target_url, replace=replace)
    finally:
        src.close()


def _open_sqlite_source(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"{path}: no such file (give the SQLite store, e.g. state/watcher.db)")
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise StoreError(f"{path}: not a SQLite database")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    return conn


def _source_version(src: sqlite3.Connection, path: Path) -> int:
    try:
        row = src.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: not a watcher store ({exc})") from exc
    return int(row[0] or 0)


def _sqlite_tables(src: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        str(r[0])
        for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    return {
        name: [str(c[1]) for c in src.execute(f"PRAGMA table_info({_quote(name)})")]
        for name in names
        if name not in SKIP_TABLES
    }


def _dependency_order(src: sqlite3.Connection, tables: dict[str, list[str]]) -> list[str]:
    """Tables ordered so that every table comes after the tables its foreign keys name."""
    needs: dict[str, set[str]] = {}
    for name in tables:
        refs = {str(r[2]) for r in src.execute(f"PRAGMA foreign_key_list({_quote(name)})")}
        needs[name] = {r for r in refs if r in tables and r != name}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(tables):
        ready = sorted(t for t in tables if t not in placed and needs[t] <= placed)
        if not ready:  # a cycle: keep the rest in name order (PostgreSQL will say if it fails)
            ready = sorted(t for t in tables if t not in placed)
        for t in ready:
            order.append(t)
            placed.add(t)
    return order


def _copy_into_postgres(
    src: sqlite3.Connection,
    order: list[str],
    tables: dict[str, list[str]],
    url: str,
    *,
    replace: bool,
) -> list[TableCopy]:
    import psycopg

    try:
        conn = psycopg.connect(url)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to {redact_url(url)}: {exc}") from exc
    try:
        with conn.transaction(), conn.cursor() as cur:
            target_columns = _pg_columns(cur)
            _check_target_has_everything(tables, target_columns)
            nonempty = [
                t
                for t in order
                if cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(t)})").fetchone() == (True,)
            ]
            if nonempty and not replace:
                raise StoreError(
                    "the target already holds rows in "
                    + ", ".join(nonempty)
                    + ": give --replace to empty it first (its rows are deleted)"
                )
            if nonempty:
                cur.execute(
                    "TRUNCATE " + ", ".join(_quote(t) for t in order) + " RESTART IDENTITY CASCADE"
                )
            copied: list[TableCopy] = []
            for table in order:
                cols = tables[table]
                types = [target_columns[table][c] for c in cols]
                convert = [_converter(t) for t in types]
                column_list = ", ".join(_quote(c) for c in cols)
                n = 0
                with cur.copy(f"COPY {_quote(table)} ({column_list}) FROM STDIN") as copy:
                    for row in _source_rows(src, table, column_list):
                        copy.write_row([f(v) for f, v in zip(convert, row, strict=True)])
                        n += 1
                got = cur.execute(f"SELECT COUNT(*) FROM {_quote(table)}").fetchone()
                if got is None or int(got[0]) != n:
                    raise StoreError(f"{table}: copied {n} rows but the target counts {got}")
                copied.append(TableCopy(table, n))
            _reset_identities(cur)
        return copied
    except psycopg.Error as exc:
        raise StoreError(f"copy into {redact_url(url)} failed, nothing was changed: {exc}") from exc
    finally:
        conn.close()


def _pg_columns(cur: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, column, data_type in cur.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ).fetchall():
        out.setdefault(str(table), {})[str(column)] = str(data_type)
    return out


def _check_target_has_everything(
    tables: dict[str, list[str]], target: dict[str, dict[str, str]]
) -> None:
    missing = [t for t in tables if t not in target]
    missing += [f"{t}.{c}" for t in tables if t in target for c in tables[t] if c not in target[t]]
    if missing:
        raise StoreError(
            "the target has no place for "
            + ", ".join(missing)
            + " (a table or column this watcher's migrations do not create): nothing copied"
        )


def _source_rows(src: sqlite3.Connection, table: str, column_list: str) -> Any:
    try:
        return src.execute(f"SELECT {column_list} FROM {_quote(table)} ORDER BY rowid")
    except sqlite3.OperationalError:  # a WITHOUT ROWID table
        return src.execute(f"SELECT {column_list} FROM {_quote(table)}")


def _converter(pg_type: str) -> Callable[[Any], Any]:
    """SQLite's loose values to what the PostgreSQL column takes."""

    def keep(v: Any) -> Any:
        return v

    def to_int(v: Any) -> Any:
        return int(v) if isinstance(v, float) and v.is_integer() else v

    def to_bool(v: Any) -> Any:
        return None if v is None else bool(v)

    def to_bytes(v: Any) -> Any:
        return v.encode("utf-8") if isinstance(v, str) else v

    def to_text(v: Any) -> Any:
        return v if v is None or isinstance(v, str) else str(v)

    return {
        "bigint": to_int,
        "integer": to_int,
        "smallint": to_int,
        "boolean": to_bool,
        "bytea": to_bytes,
        "text": to_text,
    }.get(pg_type, keep)


def _reset_identities(cur: Any) -> None:
    """Move every identity/serial sequence past the largest copied id."""
    rows = cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
        " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
    ).fetchall()
    for table, column in rows:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s),"
            f" COALESCE(MAX({_quote(column)}), 0) + 1, false) FROM {_quote(table)}",
            (_quote(table), column),
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def backup_sqlite(source: Path, target: Path) -> int:
    """A consistent copy of a live SQLite store (SQLite's online backup); returns its pages."""
    if target.exists():
        raise StoreError(f"{target} exists: give a new file name")
    src = _open_sqlite_source(source)
    try:
        private_file(target)  # a copy of the subscribers: owner-only like the store
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()
    if check != "ok":
        raise StoreError(f"the backup {target} fails its integrity check: {check}")
    return pages


# -- commands -------------------------------------------------------------------------------
def cmd_copy(args: argparse.Namespace) -> int:
    copied = copy_sqlite_to_postgres(Path(args.source), args.target, replace=args.replace)
    width = max((len(c.table) for c in copied), default=5)
    for c in copied:
        print(f"{c.table:<{width}}  {c.rows:>9} rows")
    total = sum(c.rows for c in copied)
    print(f"copied {total} rows in {len(copied)} tables to {redact_url(args.target)}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from watcher.cli import settings_from_args

    target = settings_from_args(args).db_target
    db = open_database(target, migrate=False)
    try:
        applied = db.migrate()
        version = db.schema_version()
    finally:
        db.close()
    done = ", ".join(str(v) for v in applied) if applied else "none needed"
    print(f"{redact_url(target)}: schema version {version} (applied: {done})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from watcher.cli import settings_from_args

    source = args.source or settings_from_args(args).db_target
    if source.startswith(("postgresql://", "postgres://")):
        print(
            "watcher: the store is PostgreSQL: back it up with pg_dump (see deploy/README.md)",
            file=sys.stderr,
        )
        return 2
    pages = backup_sqlite(Path(source), Path(args.to))
    print(f"backed up {source} to {args.to} ({pages} pages, integrity ok)")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    db = sub.add_parser("db", help="the state store: migrate, back up, copy to PostgreSQL")
    dbsub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)

    copy = dbsub.add_parser(
        "copy",
        help="copy a SQLite store into PostgreSQL (to run several instances)",
        description="Copy every table of a SQLite store into a PostgreSQL database, ids kept."
        " Stop `watcher run` first: rows written during the copy are not copied.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="SQLITE_PATH")
    copy.add_argument("--to", dest="target", required=True, metavar="POSTGRES_URL")
    copy.add_argument(
        "--replace",
        action="store_true",
        help="empty the target's watcher tables first (otherwise a non-empty target is refused)",
    )
    copy.set_defaults(func=cmd_copy)

    migrate = dbsub.add_parser("migrate", help="apply pending migrations and print the version")
    migrate.set_defaults(func=cmd_migrate)

    backup = dbsub.add_parser("backup", help="a consistent copy of a (running) SQLite store")
    backup.add_argument("--to", required=True, metavar="NEW_FILE")
    backup.add_argument(
        "--from", dest="source", default=None, metavar="SQLITE_PATH", help="default: --db"
    )
    backup.set_defaults(func=cmd_backup)
