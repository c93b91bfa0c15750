"""Full text for items whose feed or page gives only a headline: fetch the article, extract
its main text with trafilatura, before scoring.

    async with article_fetcher() as fetcher:
        fulltext = FullText(fetcher, db=runtime.db)
        items = await fulltext.enrich(new_items, allow_private=source.allow_private)

Only call it with new items (never with ones already seen). Bounds: the article fetcher's
body limit and deadline, ``concurrency`` article fetches at once and ``per_host`` per host;
robots.txt honoured; links checked by the address guard unless the source allows private
addresses; one fetch per canonical URL (the ``articles`` table; failures retried after
``retry_failed_after`` seconds). A failure never loses the item: it is scored on what the
feed gave. The extracted text goes into ``Item.content`` when it is longer than what is there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trafilatura

from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings
from watcher.models import Item
from watcher.parse.charset import decode_html
from watcher.store import articles as article_store
from watcher.store.articles import CachedArticle
from watcher.store.db import Database
from watcher.web.guard import AddressPolicy, check_scheme
from watcher.web.robots import RobotsCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FullTextSettings:
    concurrency: int = 8  # article fetches at once, all hosts
    per_host: int = 2  # article fetches at once to one host
    max_text_chars: int = 100_000
    retry_failed_after: float = 3600.0
    robots: bool = True


def article_fetcher(
    *, max_body_bytes: int = 2 * 1024 * 1024, deadline: float = 20.0, concurrency: int = 8,
    per_host: int = 2, policy: AddressPolicy | None = None,
) -> Fetcher:  # fmt: skip
    """A fetcher bounded for articles, with the address guard for untrusted links."""
    settings = FetchSettings(
        connect_timeout=5.0,
        read_timeout=10.0,
        deadline=deadline,
        max_body_bytes=max_body_bytes,
        concurrency=concurrency,
        per_host=per_host,
    )
    return Fetcher(settings, guard=policy or AddressPolicy())


def extract_text(body: bytes, headers: dict[str, str] | None, url: str) -> str:
    """The main text of an article page ("" when trafilatura finds none)."""
    html, _ = decode_html(body, headers)
    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, deduplicate=False
    )
    return text or ""


class FullText:
    def __init__(
        self,
        fetcher: Fetcher,
        *,
        db: Database | None = None,
        settings: FullTextSettings | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.db = db
        self.settings = settings or FullTextSettings()
        self.robots = robots or RobotsCache(fetcher)
        self._all = asyncio.Semaphore(self.settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._inflight: dict[str, asyncio.Task[CachedArticle]] = {}

    async def enrich(self, items: Sequence[Item], *, allow_private: bool = False) -> list[Item]:
        """The items with ``content`` set to their article's text where it could be had."""
        return [i for i, _ in await self.enrich_with_articles(items, allow_private=allow_private)]

    async def enrich_with_articles(
        self, items: Sequence[Item], *, allow_private: bool = False
    ) -> list[tuple[Item, CachedArticle | None]]:
        """``enrich``, each item with its article (None without a link): the article's status
        and error say why an item got no text (robots.txt, a blocked address, a failure)."""

        async def one(item: Item) -> tuple[Item, CachedArticle | None]:
            if not item.url:
                return item, None
            article = await self.article(item.url, allow_private=allow_private)
            if article.status != "ok" or len(article.text) <= len(item.content):
                return item, article
            return dataclasses.replace(item, content=article.text), article

        return list(await asyncio.gather(*(one(i) for i in items)))

    async def enrich_new(
        self, db: Database, source: Any, items: Sequence[Item], *, first_poll: bool, now: float
    ) -> tuple[Item, ...]:
        """``enrich`` only the items the store has not seen for ``source`` (and, on a
        source's first poll, only those within its backfill window); the rest unchanged."""
        from watcher.store import items as items_store

        def known() -> set[str]:
            with db.transaction() as tx:
                return set(items_store.known_guids(tx, source.id, [i.guid for i in items]))

        seen = await asyncio.to_thread(known)

        def wanted(item: Item) -> bool:
            if item.guid in seen:
                return False
            if not first_poll:
                return True
            when = item.published
            return when is not None and when.timestamp() >= now - float(source.backfill)

        todo = [i for i in items if wanted(i)]
        done = dict(zip((id(i) for i in todo), await self.enrich(
            todo, allow_private=bool(source.allow_private)), strict=True))  # fmt: skip
        return tuple(done.get(id(i), i) for i in items)

    async def article(self, url: str, *, allow_private: bool = False) -> CachedArticle:
        """The cached article at canonical ``url``, fetched now when not cached (or failed
        long enough ago). Never raises for fetch trouble: the status says what happened."""
        cached = await self._cached(url)
        if cached is not None:
            return cached
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.ensure_future(self._fetch(url, allow_private))
            self._inflight[url] = task
            task.add_done_callback(lambda _t: self._inflight.pop(url, None))
        return await asyncio.shield(task)

    async def _cached(self, url: str) -> CachedArticle | None:
        if self.db is None:
            return None
        db = self.db

        def get() -> CachedArticle | None:
            with db.transaction() as tx:
                return article_store.get_article(tx, url)

        found = await asyncio.to_thread(get)
        if found is None:
            return None
        if (
            found.status != "ok"
            and found.fetched_at < time.time() - self.settings.retry_failed_after
        ):
            return None
        return found

    async def _fetch(self, url: str, allow_private: bool) -> CachedArticle:
        article = await self._fetch_uncached(url, allow_private)
        if self.db is not None:
            db = self.db

            def put() -> None:
                with db.transaction() as tx:
                    article_store.put_article(tx, article)

            await asyncio.to_thread(put)
        return article

    async def _fetch_uncached(self, url: str, allow_private: bool) -> CachedArticle:
        def done(
            status: str, text: str = "", error: str = "", final: str = "", size: int = 0
        ) -> CachedArticle:
            return CachedArticle(url, final or url, status, text, error, size, time.time())

        try:
            check_scheme(url)
            host = url.split("/", 3)[2].lower()
            sem = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
            async with self._all, sem:
                if self.settings.robots and not await self.robots.allowed(
                    url, allow_private=allow_private
                ):
                    return done("robots", error=FetchErrorKind.ROBOTS.value)
                result = await self.fetcher.fetch(url, allow_private=allow_private)
            text = await asyncio.to_thread(
                extract_text, result.body, dict(result.headers), result.final_url
            )
        except FetchError as exc:
            status = "blocked" if exc.kind is FetchErrorKind.BLOCKED_ADDRESS else "failed"
            log.info("full text of %s: %s", url, exc)
            return done(status, error=str(exc))
        except Exception as exc:  # an extractor crash must not lose the item
            log.warning("full text of %s: extraction failed: %r", url, exc)
            return done("failed", error=f"extraction failed: {exc!r}")
        text = text[: self.settings.max_text_chars]
        return done("ok", text=text, final=result.final_url, size=len(result.body))
