"""The ``watcher`` command line.

Each command group lives in a module of its own here with ``register(subparsers)``; a command
is a function ``(args) -> int``. Every ``WatcherError`` becomes a clear message and exit 2
(``ConfigError`` prints one ``file:line:col: message`` line per problem), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from watcher import __version__
from watcher.errors import ConfigError, WatcherError
from watcher.settings import Settings

# Command modules, in the order their commands are listed in --help.
COMMAND_MODULES = (
    "run", "web", "sources", "feeds", "rules", "model", "labels", "digest", "db", "archive",
)  # fmt: skip

Command = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher",
        description="Watches news sources and alerts advocates to new developments.",
    )
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="folder with feeds.yaml and keywords.yaml (env WATCHER_CONFIG_DIR; default .)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="state store: a file path or postgresql:// URL (env WATCHER_DB;"
        " default CONFIG/state/watcher.db)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log format (env WATCHER_LOG_FORMAT; default text)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"watcher.cli.{name}")
        module.register(sub)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment and ``.env`` in the config folder, under the flags."""
    from watcher.notify.kinds import settings_for

    return settings_for(args.config, db=args.db, log_format=args.log_format)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    func: Command | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_USAGE
    except WatcherError as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
