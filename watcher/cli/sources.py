"""`watcher sources`: each source's health."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from watcher.cli import EXIT_OK, settings_from_args
from watcher.durations import ago


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    p = sub.add_parser("sources", help="each source's health: last success, errors, next poll")
    p.set_defaults(func=cmd_sources)
    from watcher.cli.source_trial import add_trial_parser  # `watcher sources test ID`

    add_trial_parser(p.add_subparsers(dest="sources_command", metavar="SUBCOMMAND"))


def cmd_sources(args: argparse.Namespace) -> int:
    from watcher.archive import ArchiveSettings
    from watcher.config.feeds import load_feeds
    from watcher.store.db import open_database
    from watcher.store.sources import all_states, item_counts

    settings = settings_from_args(args)
    feeds = load_feeds(settings.feeds_path)
    db = open_database(settings.db_target)
    try:
        states = all_states(db)
        counts = item_counts(db)
        archive = _archive_line(db, settings.section(ArchiveSettings).max_day_bytes)
    finally:
        db.close()
    now = time.time()
    table = Table(title=f"sources ({settings.db_target})")
    for col in ("id", "last success", "last error", "fails", "items", "next poll"):
        table.add_column(col)
    for src in feeds.sources:
        st = states.get(src.id)
        if st is None:
            table.add_row(src.id, "never", "", "0", "0", "not polled yet")
            continue
        err = ""
        if st.last_error_kind:
            err = f"{st.last_error_kind} ({ago(st.last_error_at, now)})"
            if st.last_error:
                err += f": {st.last_error[:60]}"
        nxt = "disabled" if not src.enabled else ago(st.next_check_at, now)
        table.add_row(
            src.id,
            ago(st.last_success_at, now),
            err,
            str(st.consecutive_failures),
            str(counts.get(src.id, 0)),
            nxt,
        )
    Console().print(table)
    print(archive)
    return EXIT_OK


def _archive_line(db: Any, max_day_bytes: int) -> str:
    from watcher.archive.view import health_line

    return health_line(db, time.time(), max_day_bytes)
