"""Serving an ASGI app with uvicorn inside watcher's own event loop, until a stop event.

    sock = listen(host, port, "WATCHER_HTTP_HOST/WATCHER_HTTP_PORT")  # ConfigError if taken
    await serve(app, sock, stop)                                       # returns soon after stop

We bind the socket ourselves: a port already taken is our ``ConfigError`` naming the
variables (uvicorn would call ``sys.exit``), and the bound port is known before serving. The
process's signals stay with ``watcher run``: uvicorn installs no handler of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

from watcher.errors import ConfigError

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192  # a request line and headers beyond this are a 400, not a 404
SHUTDOWN_S = 2.0  # requests in flight at stop get this long, then their connections close
BACKLOG = 128


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # SIGINT/SIGTERM belong to the process (watcher run sets its stop event)


def listen(host: str, port: int, variables: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port); a ``ConfigError`` naming
    ``variables`` when it cannot be had (taken, not an address of this machine)."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"{variables}: cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"{variables}: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def serve(app: ASGIApp, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set (then close within ``SHUTDOWN_S``)."""
    config = uvicorn.Config(
        app,
        log_config=None,  # watcher's logging set-up stays as it is
        access_log=False,
        lifespan="off",
        http="h11",
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_graceful_shutdown=int(SHUTDOWN_S),
        server_header=False,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopped.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(serving), SHUTDOWN_S + 3)
        except TimeoutError:
            server.force_exit = True
            await serving
        finally:
            sock.close()
