"""`watcher web`: the maintainer pages (and /healthz, /metrics) alone, without polling."""

from __future__ import annotations

import argparse
from typing import Any

from watcher.cli import EXIT_OK, settings_from_args

DEFAULT_PORT = 8080


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    p = sub.add_parser("web", help="serve the maintainer pages alone (no polling)")
    p.add_argument("--host", default=None, help="address (default WATCHER_HTTP_HOST, 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port (default WATCHER_HTTP_PORT, else {DEFAULT_PORT}; 0: any free port)",
    )
    p.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    import asyncio

    from watcher.logs import setup_logging
    from watcher.pages.service import run_web

    settings = settings_from_args(args)
    if args.host is not None:
        settings = settings.model_copy(update={"http_host": args.host})
    port = args.port if args.port is not None else (settings.http_port or DEFAULT_PORT)
    setup_logging(settings.log_format, settings.log_level, secrets=settings.secret_values())
    asyncio.run(run_web(settings, port))
    return EXIT_OK
