"""robots.txt for article fetches: fetched once per host (cached), read by urllib.robotparser.

RFC 9309: a 4xx robots.txt means no rules (allowed); a 5xx or an unreachable one means
"do not crawl" for now (cached for ``retry_after`` seconds, not the full TTL).
The product token matched against ``User-agent:`` lines is ``watcher``.
"""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urlsplit

from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher

PRODUCT_TOKEN = "watcher"


@dataclass(frozen=True, slots=True)
class _Entry:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything allowed
    disallow_all: bool
    until: float


class RobotsCache:
    """``await robots.allowed(url, allow_private=...)``; one robots.txt fetch per host."""

    def __init__(self, fetcher: Fetcher, *, ttl: float = 86_400.0, retry_after: float = 600.0):
        self.fetcher = fetcher
        self.ttl = ttl
        self.retry_after = retry_after
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str, *, allow_private: bool = False) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        entry = self._entries.get(origin)
        if entry is None or entry.until < time.monotonic():
            lock = self._locks.setdefault(origin, asyncio.Lock())
            async with lock:
                entry = self._entries.get(origin)
                if entry is None or entry.until < time.monotonic():
                    entry = await self._load(origin, allow_private)
                    self._entries[origin] = entry
        if entry.disallow_all:
            return False
        if entry.parser is None:
            return True
        return entry.parser.can_fetch(PRODUCT_TOKEN, url)

    async def _load(self, origin: str, allow_private: bool) -> _Entry:
        now = time.monotonic()
        try:
            result = await self.fetcher.fetch(origin + "/robots.txt", allow_private=allow_private)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return _Entry(None, False, now + self.ttl)
            if exc.kind is FetchErrorKind.BLOCKED_ADDRESS:
                return _Entry(None, True, now + self.ttl)
            return _Entry(None, True, now + self.retry_after)
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return _Entry(parser, False, now + self.ttl)
