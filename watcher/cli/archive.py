"""`watcher archive`: case files (export), hash checks (verify), captures on request (capture),
an alert's record with its capture state (show)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watcher.archive import ArchiveSettings, archive_dir
from watcher.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, settings_from_args
from watcher.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    p = sub.add_parser("archive", help="archived copies: case files, hash checks, captures")
    p.set_defaults(func=lambda args: (p.print_help(), EXIT_USAGE)[1])
    asub = p.add_subparsers(dest="archive_command", metavar="SUBCOMMAND")

    e = asub.add_parser("export", help="a case file of the archived evidence")
    e.add_argument("--topic", default="", help="only reports on this topic id")
    e.add_argument("--since", default=None, help="published on or after: 2026-11-01, or 30d ago")
    e.add_argument("--until", default=None, help="published before: 2026-12-01")
    e.add_argument("--story", type=int, default=None, help="only this development (story id)")
    e.add_argument("--format", choices=("csv", "jsonl", "html", "warc"), required=True)
    e.add_argument("--out", type=Path, required=True, help="file (a folder for html)")
    e.set_defaults(func=cmd_export)

    v = asub.add_parser("verify", help="read every archived record back, recompute every hash")
    v.set_defaults(func=cmd_verify)

    c = asub.add_parser("capture", help="capture (or re-check) a page now")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--alert", type=int, help="an alert id")
    what.add_argument("--item", type=int, help="a stored item id")
    what.add_argument("--url", help="any http(s) URL")
    c.set_defaults(func=cmd_capture)

    s = asub.add_parser("show", help="an alert's record with its capture state")
    s.add_argument("alert", type=int)
    s.set_defaults(func=cmd_show)


def _error(text: str) -> int:
    print(f"watcher archive: {text}", file=sys.stderr)
    return EXIT_USAGE


def parse_when(value: str, name: str, now: float) -> float:
    """``2026-11-20``, ``2026-11-20T09:00`` (UTC unless a zone is given) or ``30d`` (ago)."""
    from watcher.durations import parse_duration

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            return now - parse_duration(value)
        except ValueError:
            raise ValueError(
                f"{name} {value!r}: give a date (2026-11-20), a time (2026-11-20T09:00)"
                " or an age (30d)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def cmd_export(args: argparse.Namespace) -> int:
    from watcher.archive.export import CaseFilter, case_rows, export
    from watcher.store.db import open_database

    settings = settings_from_args(args)
    now = time.time()
    try:
        since = None if args.since is None else parse_when(args.since, "--since", now)
        until = None if args.until is None else parse_when(args.until, "--until", now)
    except ValueError as exc:
        return _error(str(exc))
    out: Path = args.out
    if args.format == "html" and out.exists() and any(out.iterdir()):
        return _error(f"--out {out}: the folder is not empty; give a new one")
    if args.format != "html" and not out.parent.is_dir():
        return _error(f"--out {out}: the folder {out.parent} does not exist")
    db = open_database(settings.db_target)
    try:
        rows = case_rows(db, CaseFilter(args.topic, since, until, args.story))
        count = export(db, archive_dir(settings), rows, args.format, out)
    finally:
        db.close()
    archived = sum(1 for r in rows if r.evidence is not None)
    print(f"{out}: {count} reports ({archived} with an archived copy)"
          f" in {len({r.development for r in rows})} developments")  # fmt: skip
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from watcher.archive.verify import verify
    from watcher.store.db import open_database

    settings = settings_from_args(args)
    db = open_database(settings.db_target)
    try:
        report = verify(db, archive_dir(settings))
    finally:
        db.close()
    for problem in report.problems:
        print(f"MISMATCH {problem}")
    for name in report.unindexed:
        print(f"not indexed (left by an interrupted capture): {name}")
    print(f"{archive_dir(settings)}: {report.records} records and {report.texts} texts checked,"
          f" {len(report.problems)} problems")  # fmt: skip
    return EXIT_OK if report.ok else EXIT_FAILED


def _target(settings: Settings, args: argparse.Namespace) -> dict[str, Any] | str:
    """What to capture: URL and what the store knows of it; an error text otherwise."""
    from watcher.store.db import open_database

    if args.url:
        return {"url": args.url}
    table, key = ("alerts", args.alert) if args.alert is not None else ("items", args.item)
    db = open_database(settings.db_target)
    try:
        with db.transaction() as tx:
            row = tx.fetchone(f"SELECT url, source_id, title FROM {table} WHERE id = ?", (key,))
    finally:
        db.close()
    if row is None:
        return f"no {table[:-1]} with id {key} in {settings.db_target}"
    if not row[0]:
        return f"{table[:-1]} {key} has no URL to capture"
    out: dict[str, Any] = {"url": row[0], "source_id": row[1], "title": row[2]}
    out["alert_id" if table == "alerts" else "item_id"] = key
    return out


def cmd_capture(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    target = _target(settings, args)
    if isinstance(target, str):
        return _error(target)
    outcome = asyncio.run(_capture(settings, target))
    print(f"{target['url']}: {outcome}")
    return EXIT_OK if outcome not in ("failed", "retry", "busy") else EXIT_FAILED


async def _capture(settings: Settings, target: dict[str, Any]) -> str:
    from watcher.archive.capture import Archiver, capture_fetcher
    from watcher.archive.view import capture_states
    from watcher.config.feeds import FeedsConfig, load_feeds
    from watcher.runtime import default_instance_id
    from watcher.store import archive as store
    from watcher.store.db import open_database

    feeds = load_feeds(settings.feeds_path) if settings.feeds_path.exists() else FeedsConfig()
    db = open_database(settings.db_target)
    owner = f"cli:{default_instance_id()}"
    try:
        with db.transaction() as tx:
            cap = store.enqueue_url(tx, now=time.time(), **target)
        row = await asyncio.to_thread(store.request, db, cap.id, owner, time.time())
        if row is None:
            return "busy (another process is capturing it now)"
        archive = settings.section(ArchiveSettings)
        async with capture_fetcher(archive) as fetcher:
            archiver = Archiver(db, archive_dir(settings), fetcher, archive,
                                owner=owner, feeds=lambda: feeds)  # fmt: skip
            outcome = await archiver.process(row)
        state = capture_states(db, [target["url"]]).get(target["url"])
        return outcome if state is None else f"{outcome}; {state.line()}"
    finally:
        db.close()


def cmd_show(args: argparse.Namespace) -> int:
    from watcher.archive.view import capture_state
    from watcher.store.alerts import get_alerts
    from watcher.store.db import open_database

    settings = settings_from_args(args)
    db = open_database(settings.db_target)
    try:
        alert = get_alerts(db, [args.alert]).get(args.alert)
        state = capture_state(db, args.alert) if alert is not None else None
    finally:
        db.close()
    if alert is None:
        return _error(f"no alert with id {args.alert} in {settings.db_target}")
    print(f"alert {alert.id}: {alert.title}")
    print(f"  {alert.source_name or alert.source_id} · {alert.published:%Y-%m-%d %H:%M UTC}"
          f" · topics {', '.join(alert.topics)} · score {alert.score:.1f}")  # fmt: skip
    print(f"  {alert.url}")
    print(f"  {state.line() if state is not None else 'archive: no capture queued yet'}")
    for snap in state.snapshots if state is not None else ():
        print(f"    {snap.outcome:8} {snap.record_id} HTTP {snap.http_status}"
              f" sha256 {snap.payload_sha256} {snap.warc_file}")  # fmt: skip
    return EXIT_OK
