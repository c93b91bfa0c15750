"""`watcher labels export|stats`: the votes people gave, as a labelled corpus and as figures.

``export`` writes the corpus format that ``rules test --corpus`` and ``model train --labels``
read (admins' labels; users' signals with ``--include-signals``, docs/labels.md); ``stats``
counts the votes, the agreement between voters on one item, and the topics most often
voted wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from watcher.cli import EXIT_OK, settings_from_args
from watcher.errors import ConfigError, Problem
from watcher.labels import Export, export, render_stats, stats
from watcher.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    labels = sub.add_parser("labels", help="what people said about alerts and near misses")
    lsub = labels.add_subparsers(dest="labels_command", metavar="SUBCOMMAND")
    labels.set_defaults(func=lambda args: _usage(labels))
    out = lsub.add_parser("export", help="write the labels as a corpus (JSONL)")
    out.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")
    out.add_argument(
        "--include-signals",
        action="store_true",
        help="also items only users voted on (at least 2 voters, most agreeing)",
    )
    out.add_argument("--keywords", type=Path, default=None, metavar="PATH", help="known topics")
    out.set_defaults(func=cmd_export)
    st = lsub.add_parser("stats", help="votes, agreement, topics most often wrong")
    st.add_argument("--json", action="store_true", help="as JSON")
    st.set_defaults(func=cmd_stats)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def store_export(
    settings: Settings, keywords: Path | None = None, *, include_signals: bool = False
) -> Export:
    """The store's votes as corpus lines, for the topics of ``keywords`` (default: the
    config's keywords.yaml)."""
    from watcher.rules import load_rules
    from watcher.store.db import open_database
    from watcher.store.labels import voted_items

    rules = load_rules(keywords or settings.keywords_path)
    db = open_database(settings.db_target)
    try:
        items = voted_items(db)
    finally:
        db.close()
    return export(items, rules.topic_ids, include_signals=include_signals)


def write_corpus(done: Export, path: Path) -> None:
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in done.lines)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(Problem(str(path), 0, 0, f"cannot write: {exc.strerror}")) from exc


def cmd_export(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    done = store_export(settings, args.keywords, include_signals=args.include_signals)
    write_corpus(done, args.out)
    by = sorted({str(line["labelled_by"]) for line in done.lines})
    print(f"{len(done.lines)} labelled items -> {args.out}" + (f" ({', '.join(by)})" if by else ""))
    for why, n in sorted(done.left_out.items()):
        print(f"  left out: {n} ({why})")
    if not args.include_signals and done.left_out.get("signals only"):
        print("  (--include-signals adds the items only users voted on, by majority)")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from watcher.store.db import open_database
    from watcher.store.labels import voted_items

    settings = settings_from_args(args)
    db = open_database(settings.db_target)
    try:
        figures = stats(voted_items(db))
    finally:
        db.close()
    if args.json:
        print(json.dumps(figures.as_json(), indent=2, sort_keys=True))
    else:
        print("\n".join(render_stats(figures)))
    return EXIT_OK
