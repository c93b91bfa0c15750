"""Webhook mode: Telegram POSTs updates to us instead of us polling getUpdates.

What PTB's ``Application.run_webhook`` does, inside our event loop and without a web framework
(stdlib asyncio streams, like watcher/ops/http.py): listen on ``webhook_listen:webhook_port``,
accept ``POST`` on the path of ``WATCHER_TELEGRAM_WEBHOOK_URL`` carrying Telegram's
``X-Telegram-Bot-Api-Secret-Token``, turn the JSON into an ``Update`` and put it on the
application's update queue; the same handlers as in polling mode answer it. TLS is left to a
reverse proxy in front (Telegram requires HTTPS on 443, 80, 88 or 8443).
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

from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # an update is a few KB; refuse anything absurd
READ_TIMEOUT_S = 10.0
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
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.listen, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("receiving Telegram updates on %s:%d%s", self.listen, self.port, self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status = await asyncio.wait_for(self._answer(reader), READ_TIMEOUT_S)
        except Exception:  # anything a stranger sends gets a 400, never an unhandled error
            log.debug("webhook request refused", exc_info=True)
            status = 400
        if status != 200:
            self.refused += 1
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(
            status, "Error"
        )
        with contextlib.suppress(Exception):
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if method != "POST" or urllib.parse.urlsplit(target).path != self.path:
            return 404
        given = headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.secret.encode()):
            return 403
        length = int(headers.get("content-length", "0") or 0)
        if not 0 < length <= MAX_BODY:
            return 400
        data: Any = json.loads(await reader.readexactly(length))
        if not isinstance(data, dict):
            return 400
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)
        self.received += 1
        return 200
