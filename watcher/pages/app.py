"""The Starlette app: what the pages read (``Web``), the page families, access and templates.

A page family is one module of this package listed in ``PAGE_MODULES``, with

    NAV = (("Alerts", "/alerts"),)            # entries of the menu (may be empty)
    def routes(web: Web) -> list[BaseRoute]:  # its routes; handlers render with web.render

Every POST route it declares is CSRF-checked and logged (``access.protect``); every page but
``access.PUBLIC`` needs a login when ``WATCHER_WEB_TOKEN`` is set.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from watcher.config.live import LiveConfig
from watcher.display import safe_link
from watcher.logs import Redact, redact_urls_in
from watcher.ops.http import Health
from watcher.ops.metrics import Metrics
from watcher.pages import WebSettings
from watcher.pages.access import (
    SAFE_METHODS,
    SESSION_COOKIE,
    SESSION_DAYS,
    Access,
    LoginRequired,
    csrf_token,
    protect,
    user_of,
)
from watcher.pages.text import when
from watcher.settings import Settings
from watcher.store.db import Database

HERE = Path(__file__).parent
# the pages need nothing from elsewhere, and no other site may frame them or receive their forms
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors"
    " 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _Id(Convertor[int]):
    """``{name:id}`` in a route: a stored row's id; longer digit strings (past the store's
    64-bit integers) match no route, so they are a 404, not an overflow in the store."""

    regex = "[0-9]{1,15}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", _Id())
# the page families, in menu order (each a module of this package, see the docstring)
PAGE_MODULES = ("ops", "alerts", "sources", "review", "play", "items", "archive", "login")


@dataclass
class Web:
    """What the pages read: settings, the store, the configuration in force, health."""

    settings: Settings
    db: Database
    config: LiveConfig
    health: Health
    metrics: Metrics
    instance_id: str = ""
    nav: list[tuple[str, str]] = field(default_factory=list)
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(env=_environment(self.settings.secret_values()))

    def render(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        page = {"nav": self.nav, "user": user_of(request), "path": request.url.path}
        response = self.templates.TemplateResponse(
            request, name, {**page, **context}, status_code=status
        )
        response.headers.update(PAGE_HEADERS)
        return response


def _environment(secrets: Sequence[str]) -> jinja2.Environment:
    """Jinja2 with autoescape and a last look at every value printed: a known secret (the
    bot token, the SMTP password, the web token) or a password inside a URL never reaches a
    page, whatever a template prints."""
    redact = Redact(secrets).redact

    def finalize(value: object) -> object:
        if isinstance(value, Markup):
            return Markup(redact_urls_in(redact(str(value))))
        if isinstance(value, str):
            return redact_urls_in(redact(value))
        return value

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["csrf_token"] = csrf_token
    env.filters["when"] = when
    env.filters["link"] = safe_link  # an article's link: http(s) only, else "" (no href)
    return env


def page_modules() -> list[ModuleType]:
    return [importlib.import_module(f"watcher.pages.{name}") for name in PAGE_MODULES]


def create_app(web: Web) -> Starlette:
    """The app serving every endpoint for ``web``."""
    section = web.settings.section(WebSettings)
    access = Access(section.token, section.secure_cookie)
    routes: list[BaseRoute] = []
    web.nav.clear()  # a restarted service builds the app again
    for module in page_modules():
        web.nav.extend(getattr(module, "NAV", ()))
        routes += [_guarded(r) for r in module.routes(web)]
    routes.append(Route("/", lambda request: RedirectResponse("/alerts", 303), methods=["GET"]))
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(
        routes=routes,
        middleware=[
            # the sources page's charts are ~200 KB of SVG for 60 sources, ~10% gzipped
            Middleware(GZipMiddleware, minimum_size=4096),
            Middleware(
                SessionMiddleware,
                secret_key=access.session_key(),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_DAYS * 86400,
                same_site="lax",
                https_only=access.secure_cookie,
            ),
            Middleware(LoginRequired, access=access),
        ],
        exception_handlers={HTTPException: _error_page},
    )
    app.state.access = access
    app.state.web = web
    return app


def _guarded(route: BaseRoute) -> BaseRoute:
    """``route``, a handler that writes (POST, or any method but GET and HEAD) behind the
    CSRF check: every form of every page, with nothing for the page to add."""
    if not isinstance(route, Route):  # a Mount would bring routes the check never sees
        raise TypeError(f"page routes are starlette Routes, not {type(route).__name__}")
    if route.methods is None or set(route.methods) - SAFE_METHODS:  # None: any method
        methods = None if route.methods is None else list(route.methods)
        return Route(route.path, protect(route.endpoint), methods=methods, name=route.name)
    return route


_PLAIN = re.compile(r"^/(healthz|metrics)$")


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    web: Web = request.app.state.web
    headers = dict(exc.headers or {})
    if _PLAIN.match(request.url.path) or "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse(f"{exc.detail}\n", exc.status_code, headers=headers)
    response = web.render(
        request, "error.html.j2", {"status": exc.status_code, "detail": exc.detail},
        exc.status_code,
    )  # fmt: skip
    response.headers.update(headers)
    return response
