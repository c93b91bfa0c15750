"""A real SMTP server (aiosmtpd) on 127.0.0.1, port 0, that records what it receives.

It runs its own asyncio loop in a background thread, so it works from plain and async tests.

    with SmtpServer() as srv:
        srv.refuse_auth = True            # AUTH answers 535
        srv.refused.add("bad@example.org")  # RCPT TO answers 550 for that address
        srv.stop(); srv.start()           # down, then up again on the same port
        srv.messages[0]["Subject"]        # parsed email.message.EmailMessage objects

With ``users`` set, clients must log in (AUTH PLAIN/LOGIN allowed without TLS here).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, srv: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in {a.lower() for a in self.server.refused}:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, srv: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.server.lock:
            self.server.messages.append(msg)
            self.server.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.users = dict(users or {})
        self.refuse_auth = False
        self.refused: set[str] = set()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None

    def _auth(self, srv: SMTP, session: Session, envelope: Envelope, mech: str, data: Any) -> Any:
        if self.refuse_auth:
            return AuthResult(success=False, handled=False)
        user = data.login.decode() if isinstance(data.login, bytes) else str(data.login)
        pw = data.password.decode() if isinstance(data.password, bytes) else str(data.password)
        return AuthResult(success=self.users.get(user) == pw and user in self.users)

    def _factory(self) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="smtp.test",
            authenticator=self._auth,
            auth_required=bool(self.users),
            auth_require_tls=False,
        )

    def start(self) -> SmtpServer:
        async def serve() -> asyncio.Server:
            return await self._loop.create_server(self._factory, self.host, self.port)

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening (the port is kept for a later ``start``)."""
        server, self._server = self._server, None
        if server is None:
            return

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
