"""``/login`` and ``/logout`` (only when ``WATCHER_WEB_TOKEN`` is set: see access.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from watcher.pages.access import CSRF_FIELD, csrf_token, safe_next

if TYPE_CHECKING:
    from watcher.pages.app import Web

log = logging.getLogger(__name__)

NAV: tuple[tuple[str, str], ...] = ()
FAILED_LOGIN_DELAY_S = 1.0  # each wrong token costs a guesser a second
_NAME = re.compile(r"[^\w .@-]+")


def routes(web: Web) -> list[BaseRoute]:
    async def login_form(request: Request) -> Response:
        return _form(web, request, request.query_params.get("next", "/"), "")

    async def login(request: Request) -> Response:
        form = await request.form()
        target = safe_next(str(form.get("next") or "/"))
        access = request.app.state.access
        if not access.login_required:
            return RedirectResponse(target, 303)
        name = _NAME.sub("", str(form.get("name") or "")).strip()[:40] or "maintainer"
        if not access.token_matches(str(form.get("token") or "")):
            log.warning("failed login as %r from %s", name, _client(request))
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)
            return _form(web, request, target, "Wrong token.", status=401)
        request.session.clear()  # a new session: new CSRF token, nothing carried over
        request.session["user"] = name
        csrf_token(request)
        request.state.audit = f"signed in as {name}"
        return RedirectResponse(target, 303)

    async def logout(request: Request) -> Response:
        request.state.audit = "signed out"
        request.session.clear()
        return RedirectResponse("/login" if request.app.state.access.login_required else "/", 303)

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def _form(web: Web, request: Request, target: str, error: str, status: int = 200) -> Response:
    context = {"next": safe_next(target), "error": error, "csrf_field": CSRF_FIELD}
    return web.render(request, "login.html.j2", context, status)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"
