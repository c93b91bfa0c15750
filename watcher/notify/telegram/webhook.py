"""Webhook mode: Telegram POSTs updates to us instead of us polling getUpdates.

What PTB's ``Application.run_webhook`` does, inside our event loop: a Starlette app with one
route, served by uvicorn like every HTTP endpoint of watcher (``watcher.pages.server``), on
``webhook_listen:webhook_port``. It accepts ``POST`` on the path of
``WATCHER_TELEGRAM_WEBHOOK_URL`` carrying Telegram's ``X-Telegram-Bot-Api-Secret-Token``,
turns the JSON into an ``Update`` and puts it on the application's update queue; the same
handlers as in polling mode answer it. TLS is left to a reverse proxy in front (Telegram
requires HTTPS on 443, 80, 88 or 8443).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import urllib.parse
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from watcher.pages.server import bound_port, listen, serve

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # an update is a few KB; refuse anything absurd
SECRET_HEADER = "x-telegram-bot-api-secret-token"


def webhook_secret(token: str, configured: str = "") -> str:
    """The secret Telegram sends back with every update: configured, or derived from the token."""
    if configured:
        return configured
    return hashlib.sha256(f"watcher-webhook:{token}".encode()).hexdigest()


def webhook_path(url: str) -> str:
    """The path of the public webhook URL: the one path we accept updates on."""
    return urllib.parse.urlsplit(url).path or "/"


class WebhookServer:
    """Receives updates for ``application`` on ``listen:port`` (port 0: any free port)."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        *,
        path: str,
        secret: str,
        listen: str = "127.0.0.1",
        port: int = 8443,
    ) -> None:
        self.application = application
        self.path = path
        self.secret = secret
        self.listen = listen
        self.port = port
        self.received = 0
        self.refused = 0
        self._stop = asyncio.Event()
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = listen(
            self.listen, self.port, "WATCHER_TELEGRAM_WEBHOOK_LISTEN/WATCHER_TELEGRAM_WEBHOOK_PORT"
        )
        self.port = bound_port(sock)
        self._stop.clear()
        self._serving = asyncio.create_task(serve(self.app(), sock, self._stop))
        log.info("receiving Telegram updates on %s:%d%s", self.listen, self.port, self.path)

    async def stop(self) -> None:
        if self._serving is not None:
            self._stop.set()
            with contextlib.suppress(Exception):
                await self._serving
            self._serving = None

    def app(self) -> Starlette:
        """One route; anything else a stranger sends is a 404, never our error page."""

        async def not_found(request: Request, exc: Exception) -> Response:
            self.refused += 1
            return Response(status_code=404)  # a GET of the path too: nothing is here

        return Starlette(
            routes=[Route(self.path, self._receive, methods=["POST"])],
            exception_handlers={404: not_found, 405: not_found},
        )

    async def _receive(self, request: Request) -> Response:
        try:
            status = await self._answer(request)
        except Exception:  # anything a stranger sends gets a 400, never an unhandled error
            log.debug("webhook request refused", exc_info=True)
            status = 400
        if status != 200:
            self.refused += 1
        return Response(status_code=status)

    async def _answer(self, request: Request) -> int:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self.secret.encode()):
            return 403
        length = int(request.headers.get("content-length", "0") or 0)
        if not 0 < length <= MAX_BODY:
            return 400
        data: Any = json.loads(await request.body())
        if not isinstance(data, dict):
            return 400
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)
        self.received += 1
        return 200
