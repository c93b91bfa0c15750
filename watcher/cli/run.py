"""`watcher run` and `watcher check`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from types import FrameType
from typing import Any

from watcher.cli import EXIT_OK, settings_from_args
from watcher.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    p = sub.add_parser("run", help="poll the sources and alert (forever, or --once)")
    p.add_argument("--once", action="store_true", help="one pass over every source, then exit")
    p.set_defaults(func=cmd_run)
    c = sub.add_parser("check", help="validate feeds.yaml, keywords.yaml and settings")
    c.set_defaults(func=cmd_check)


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.app import run_forever, run_once
    from watcher.logs import setup_logging

    # Until the event loop installs its own handlers, SIGTERM means: nothing in flight, exit 0.
    signal.signal(signal.SIGTERM, _exit_quietly)
    settings = settings_from_args(args)
    secrets = settings.secret_values()  # tokens, passwords: never in a log line
    setup_logging(settings.log_format, settings.log_level, secrets=secrets)
    if args.once:
        return asyncio.run(run_once(settings))
    return asyncio.run(run_forever(settings))


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def cmd_check(args: argparse.Namespace) -> int:
    """Every file and setting as ``run`` will use them: problems name the file or variable."""
    from watcher.config.live import LiveConfig
    from watcher.notify.kinds import notifier_kinds
    from watcher.relevance.files import describe

    settings = settings_from_args(args)  # every section validated; errors name the variable
    config = LiveConfig.load(settings.feeds_path, settings.keywords_path, settings.model)
    problems = []
    channels = []
    for cls in notifier_kinds().values():
        section = settings.section(cls.settings_model)
        if section.enabled and not cls.fallback:
            problems += section.check_topics(config.rules().topic_ids)
            channels.append(section.group)
    if settings.http_port:  # the pages would refuse to start open to the network
        from watcher.pages import WebSettings
        from watcher.pages.access import check_bind

        check_bind(settings.http_host, settings.section(WebSettings).token)
    if problems:
        raise ConfigError(problems)
    feeds = config.feeds()
    print(
        f"{settings.feeds_path}: {len(feeds.sources)} sources"
        f" ({len(feeds.enabled_sources)} enabled)"
    )
    for warning in config.warnings:
        print(warning)
    print(f"{settings.keywords_path}: {len(config.rules().topic_ids)} topics")
    print(describe(config.scorer()))
    print("alerts go to: " + (", ".join(channels) or "the console (no channel configured)"))
    return EXIT_OK


__all__ = ["ConfigError", "cmd_check", "cmd_run", "register"]
