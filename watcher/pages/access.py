"""Who may use the pages: the bind rule, login, the session cookie, CSRF and the write log.

* Bound to a loopback address without ``WATCHER_WEB_TOKEN``, the pages are open to this
  machine and writes are logged as by ``local``. Bound anywhere else they refuse to start
  without the token (``check_bind``). Without a token a request must also name a loopback
  host (``Host: 127.0.0.1:8080``, ``localhost``, ``[::1]``): a web site whose name its owner
  points at 127.0.0.1 (DNS rebinding) would otherwise read the pages and post their forms
  from the visitor's browser.
* With the token every page but ``PUBLIC`` needs a login: a name (for the write log) and the
  token. The session is Starlette's signed cookie (HttpOnly, SameSite=Lax, Secure with
  ``WATCHER_WEB_SECURE_COOKIE``), keyed by the token, so changing the token logs everyone out.
* A request body is read up to ``MAX_BODY_BYTES`` before any handler sees it (413 past it,
  whether it declares its length or comes in chunks).
* Every POST carries the session's CSRF token (a hidden ``csrf`` field, or the
  ``X-CSRF-Token`` header): ``protect`` wraps every POST route of the app, and a POST without
  the right token gets 403 before its handler runs. Each accepted POST is logged with the user.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watcher.errors import ConfigError

log = logging.getLogger(__name__)
audit_log = logging.getLogger("watcher.pages.writes")

LOCAL_USER = "local"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "watcher_session"
SESSION_DAYS = 14
MAX_BODY_BYTES = 2 * 1024 * 1024  # a form, or an uploaded keywords.yaml
# reachable without a login: probes and scrapers, the login form and the stylesheet
PUBLIC = ("/healthz", "/metrics", "/login", "/static/")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # these change nothing: no CSRF token

Endpoint = Callable[[Request], Awaitable[Response]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def check_bind(host: str, token: str) -> None:
    """A ``ConfigError`` when the pages would be reachable from other machines without a
    password."""
    if token or is_loopback(host):
        return
    raise ConfigError(
        f"WATCHER_HTTP_HOST is {host!r}, not a loopback address, so the pages would be open to"
        " the network: set WATCHER_WEB_TOKEN (the login password, at least 12 random"
        " characters) or bind to 127.0.0.1"
    )


@dataclass(frozen=True)
class Access:
    token: str  # "" = no login (loopback only, see check_bind)
    secure_cookie: bool = False

    @property
    def login_required(self) -> bool:
        return bool(self.token)

    def session_key(self) -> str:
        """Signs the session cookie: from the token (sessions survive a restart and are
        valid on every instance), else new for each process."""
        if not self.token:
            return secrets.token_urlsafe(32)
        return hashlib.sha256(f"watcher-pages-session:{self.token}".encode()).hexdigest()

    def token_matches(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())


def user_of(request: Request) -> str | None:
    """The signed-in user's name; ``local`` when no login is needed; None: not signed in."""
    access: Access = request.app.state.access
    if not access.login_required:
        return LOCAL_USER
    name = request.session.get("user")
    return str(name) if name else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use): every form puts it in a hidden field."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


async def _given_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    # cached on the request: the handler reads it again for free (one file: the playground's
    # keywords.yaml upload)
    form = await request.form(max_files=1, max_fields=100)
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def protect(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` refusing a POST (any method but GET, HEAD, OPTIONS) without the session's
    CSRF token, and logging each write it accepts with who made it."""

    async def guarded(request: Request) -> Response:
        if request.method in SAFE_METHODS:
            return await endpoint(request)
        expected = request.session.get(CSRF_FIELD)
        given = await _given_csrf(request) if expected else ""  # no session: no form to read
        if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
            log.warning("refused %s %s: no valid CSRF token", request.method, request.url.path)
            return PlainTextResponse("refused: the form's CSRF token is missing or stale;"
                                     " reload the page and try again\n", 403)  # fmt: skip
        before = user_of(request)  # who signs out is known before, who signs in after
        response = await endpoint(request)
        if response.status_code < 400:  # a refused form changed nothing
            detail = getattr(request.state, "audit", "")
            audit_log.info(
                "write by %s: %s %s -> %d%s",
                user_of(request) or before or "(not signed in)",
                request.method,
                request.url.path,
                response.status_code,
                f": {detail}" if detail else "",
            )
        return response

    return guarded


def _public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


class LoginRequired:
    """ASGI middleware (inside the session middleware): with a token, pages other than
    ``PUBLIC`` send a visitor who is not signed in to the login form (403 for other methods)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._refusal(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            body = await _bounded_body(receive)
            if body is None:
                await PlainTextResponse("request too large\n", 413)(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        """The answer to a request refused before it is read, or None."""
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return PlainTextResponse("request too large\n", 413)
        path = scope["path"]
        if not self.access.login_required:
            if _public(path):  # probes, scrapers: nothing a rebinding site could use
                return None
            host = urlsplit("//" + headers.get(b"host", b"").decode("latin-1")).hostname or ""
            if not is_loopback(host):
                return PlainTextResponse(
                    "refused: without WATCHER_WEB_TOKEN the pages answer only to this machine's"
                    " own names (127.0.0.1, localhost, [::1])\n",
                    421,
                )
            return None
        if _public(path) or scope["session"].get("user"):
            return None
        if scope["method"] in ("GET", "HEAD"):
            query = scope["query_string"]
            target = path + (f"?{query.decode()}" if query else "")
            return RedirectResponse(f"/login?next={quote(target)}", 303)
        return PlainTextResponse("sign in first\n", 403)


async def _bounded_body(receive: Receive) -> bytes | None:
    """The whole request body, or None past ``MAX_BODY_BYTES`` (or when the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then waits on the client (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def safe_next(target: str) -> str:
    """Where to go after login: a path of this site only (never ``//host`` or a URL)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
