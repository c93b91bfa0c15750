"""``/playground``: explain a pasted article or a URL; paste or upload an edited
``keywords.yaml`` and see which labelled items and which of the last stored items it would
change, old and new side by side, before it goes live (the work: playground.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watcher.errors import WatcherError
from watcher.pages.playground import (
    DEFAULT_RECENT,
    MAX_RECENT,
    MAX_YAML_BYTES,
    Explained,
    Playground,
)
from watcher.pages.stored import recent, user_labelled
from watcher.pages.text import whole_number

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV = (("Playground", "/playground"),)


def _keywords_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")[:MAX_YAML_BYTES]
    except (OSError, UnicodeDecodeError):
        return ""


async def _edited(form: FormData) -> bytes | str:
    """The uploaded file when one was chosen, else the pasted text."""
    upload = form.get("upload")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(MAX_YAML_BYTES + 1)
    text = form.get("keywords")
    return text if isinstance(text, str) else ""


def _recent_n(form: FormData) -> int:
    raw = form.get("recent")
    n = whole_number(raw.strip() if isinstance(raw, str) else raw, DEFAULT_RECENT) or 0
    return min(n, MAX_RECENT)


def _page(web: Web, request: Request, status: int = 200, **context: Any) -> Response:
    values: dict[str, Any] = {
        "text": "",
        "url": "",
        "keywords": None,
        "recent": DEFAULT_RECENT,
        "max_recent": MAX_RECENT,
        "explained": None,
        "diff": None,
        "busy": False,
        **context,
    }
    if values["keywords"] is None:
        values["keywords"] = _keywords_text(web.config.keywords_path)
    return web.render(request, "playground.html.j2", values, status)


def routes(web: Web) -> list[BaseRoute]:
    playground = Playground()

    def page(request: Request, status: int = 200, **context: Any) -> Response:
        return _page(web, request, status, **context)

    async def form(request: Request) -> Response:
        return page(request)

    async def explain(request: Request) -> Response:
        data = await request.form()
        text = str(data.get("text") or "")
        url = str(data.get("url") or "").strip()
        relevance = web.config.scorer()
        if url:
            explained = await playground.explain_url(relevance, web.db, url)
        else:
            try:
                explained = Explained(await playground.explain(relevance, text), source="pasted")
            except WatcherError as exc:
                explained = Explained(error=str(exc))
        status = 400 if explained.error else 200
        return page(request, status, text=text, url=url, explained=explained)

    async def compare(request: Request) -> Response:
        data = await request.form()
        edited = await _edited(data)
        n = _recent_n(data)
        shown = edited if isinstance(edited, str) else edited.decode("utf-8", "replace")
        if playground.busy:
            return page(request, 503, keywords=shown, recent=n, busy=True)

        def gather() -> tuple[list[Any], list[Any]]:
            return user_labelled(web.db, web.config.scorer().topic_ids), recent(web.db, n)

        labelled, stored = await asyncio.to_thread(gather)
        diff = await playground.diff(web.config.scorer(), edited, labelled, stored)
        if diff is None:
            return page(request, 503, keywords=shown, recent=n, busy=True)
        return page(request, 200 if diff.ok else 400, keywords=shown, recent=n, diff=diff)

    return [
        Route("/playground", form, methods=["GET"]),
        Route("/playground/explain", explain, methods=["POST"]),
        Route("/playground/rules", compare, methods=["POST"]),
    ]
