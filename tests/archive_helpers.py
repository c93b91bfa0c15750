"""Shared pieces of the archive tests: alerts in the store, article pages, an archiver."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import DATA
from watcher.archive import ArchiveSettings
from watcher.archive.capture import Archiver
from watcher.config.feeds import FeedsConfig, parse_feeds
from watcher.fetch import Fetcher
from watcher.store import archive as store
from watcher.store.alerts import insert_alert
from watcher.store.db import Database
from watcher.web.fulltext import article_fetcher
from watcher.web.guard import AddressPolicy

WEB = DATA / "web"
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
COURT = (WEB / "article-court.html").read_bytes()
PROSECUTORS = (WEB / "article-prosecutors.html").read_bytes()
DAY = 86400.0


def changed(page: bytes) -> bytes:
    """The article with its main paragraphs rewritten (a material change)."""
    html = page.decode("utf-8")
    paragraphs = re.findall(r"<p>.*?</p>", html, flags=re.S)
    for p in paragraphs[3:9]:
        html = html.replace(
            p, "<p>This paragraph was replaced by the editors after complaints.</p>"
        )
    return html.encode("utf-8")


def add_alert(db: Database, url: str, title: str = "Court hears case", source: str = "src") -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=url,
            item_id=None,
            source_id=source,
            source_name=source.upper(),
            title=title,
            url=url,
            summary="summary of " + title,
            language="en",
            published=T0,
            topics=["repatriation"],
            score=5.0,
            matches=[],
            now=T0.timestamp(),
        )
    assert alert is not None
    return alert.id


def feeds(allow_private: bool = True, archive_watch: str = "") -> FeedsConfig:
    watch = f", archive_watch: {archive_watch}" if archive_watch else ""
    return parse_feeds(
        "sources:\n"
        f"  - {{id: src, url: 'http://127.0.0.1/feed', allow_private: {str(allow_private).lower()}"
        f"{watch}}}\n"
    )


class Clock:
    """A settable clock (the archive's schedule is days long)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fetcher(deadline: float = 5.0, max_page: int = 1024 * 1024, trust: bool = True) -> Fetcher:
    policy = AddressPolicy.trusting("127.0.0.1/32") if trust else AddressPolicy()
    return article_fetcher(deadline=deadline, max_body_bytes=max_page, policy=policy)


def archiver(
    db: Database,
    root: Path,
    fetch: Fetcher,
    *,
    clock: Clock,
    settings: ArchiveSettings | None = None,
    config: FeedsConfig | None = None,
    owner: str = "test",
    told: list[tuple[str, str]] | None = None,
) -> Archiver:
    async def notice(kind: str, text: str) -> None:
        if told is not None:
            told.append((kind, text))

    cfg = config or feeds()
    return Archiver(
        db,
        root,
        fetch,
        settings or ArchiveSettings(robots=False),
        owner=owner,
        feeds=lambda: cfg,
        notice=notice,
        clock=clock,
    )


def enqueue_all(db: Database, now: float) -> None:
    with db.transaction() as tx:
        store.enqueue_alerts(tx, 0, now)
        store.enqueue_reports(tx, 0, now)


async def run_due(
    arch: Archiver, db: Database, now: float, owner: str = "test", limit: int = 50
) -> list[str]:
    """Claim what is due at ``now`` (up to ``limit``) and process it; the outcomes."""
    out = []
    for row in store.claim(db, owner, now, limit=limit):
        out.append(await arch.process(row))
    return out


def capture_of(db: Database, url: str) -> store.Capture:
    with db.transaction() as tx:
        found = store.captures_by_url(tx, [url])
    return found[url]
