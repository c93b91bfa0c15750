"""Archived copies of alerted articles (docs/archive.md), sanitized by watcher/archive/view.py:
``/archive/{snapshot_id}`` the page, ``/archive/{snapshot_id}/text`` its extracted text."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watcher.archive import archive_dir
from watcher.archive.view import archived_page

if TYPE_CHECKING:
    from watcher.pages.app import Web

NAV: tuple[tuple[str, str], ...] = ()


def routes(web: Web) -> list[BaseRoute]:
    root = archive_dir(web.settings)

    async def copy(request: Request) -> Response:
        snapshot_id = int(request.path_params["snapshot_id"])
        text = request.url.path.endswith("/text")
        page = await asyncio.to_thread(archived_page, web.db, root, snapshot_id, text=text)
        if page is None:
            raise HTTPException(404, f"no archived copy {snapshot_id}")
        return Response(page.body, headers=page.headers)

    return [
        Route("/archive/{snapshot_id:id}", copy, methods=["GET"]),
        Route("/archive/{snapshot_id:id}/text", copy, methods=["GET"]),
    ]
