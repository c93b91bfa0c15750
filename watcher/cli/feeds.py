"""`watcher feeds import FILE.opml` and `watcher feeds export`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from watcher.cli import EXIT_OK, settings_from_args


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    feeds = sub.add_parser("feeds", help="import or export sources as OPML")
    fsub = feeds.add_subparsers(dest="feeds_command", metavar="SUBCOMMAND", required=True)
    imp = fsub.add_parser("import", help="add an OPML file's feeds to feeds.yaml")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--dry-run", action="store_true", help="print the entries instead of appending them"
    )
    imp.set_defaults(func=cmd_import)
    exp = fsub.add_parser("export", help="print feeds.yaml's sources as OPML")
    exp.add_argument("-o", "--output", type=Path, default=None, help="write to a file")
    exp.set_defaults(func=cmd_export)


def cmd_import(args: argparse.Namespace) -> int:
    from watcher.config.feeds import load_feeds, parse_feeds
    from watcher.config.opml import read_opml, yaml_entries
    from watcher.errors import ConfigError, Problem

    settings = settings_from_args(args)
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(Problem(str(args.file), 0, 0, f"cannot read: {exc.strerror}")) from exc
    feeds = read_opml(text, str(args.file))
    path = settings.feeds_path
    existing = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    config = load_feeds(path) if path.exists() else parse_feeds(existing)
    entries = yaml_entries(feeds, {s.id for s in config.sources}, {s.url for s in config.sources})
    added = entries.count("  - id: ")
    if args.dry_run:
        sys.stdout.write(entries)
        return EXIT_OK
    if added:
        new_text = (
            existing.rstrip("\n") + "\n\n  # imported from " + args.file.name + "\n" + entries
        )
        parse_feeds(new_text, str(path))  # never write a file that would not load
        path.write_text(new_text, encoding="utf-8")
    print(f"{path}: added {added} of {len(feeds)} feeds (the others were there already)")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from watcher.config.feeds import load_feeds
    from watcher.config.opml import write_opml

    settings = settings_from_args(args)
    text = write_opml(load_feeds(settings.feeds_path).sources)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK
