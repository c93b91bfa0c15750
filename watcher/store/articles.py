"""The article cache of full-text fetches, keyed by canonical URL (migration 0005)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watcher.store.db import Tx


@dataclass(frozen=True, slots=True)
class CachedArticle:
    url: str  # canonical URL
    final_url: str
    status: str  # "ok", "failed", "robots" or "blocked"
    text: str  # the extracted main text ("" unless ok)
    error: str
    size: int  # bytes fetched
    fetched_at: float


def get_article(tx: Tx, url: str) -> CachedArticle | None:
    row = tx.fetchone(
        "SELECT url, final_url, status, text, error, size, fetched_at FROM articles WHERE url = ?",
        (url,),
    )
    if row is None:
        return None
    return CachedArticle(row[0], row[1], row[2], row[3], row[4], int(row[5]), float(row[6]))


def put_article(tx: Tx, article: CachedArticle) -> None:
    tx.execute(
        "INSERT INTO articles (url, final_url, status, text, error, size, fetched_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
        " final_url = excluded.final_url, status = excluded.status, text = excluded.text,"
        " error = excluded.error, size = excluded.size, fetched_at = excluded.fetched_at",
        (
            article.url,
            article.final_url,
            article.status,
            article.text,
            article.error,
            article.size,
            article.fetched_at,
        ),
    )


def prune_articles(tx: Tx, older_than: float) -> int:
    """Forget articles fetched before ``older_than`` (epoch seconds); returns how many."""
    return tx.execute("DELETE FROM articles WHERE fetched_at < ?", (older_than,))


def texts_of(tx: Tx, urls: Sequence[str]) -> dict[str, str]:
    """The extracted text of each of ``urls`` whose article was fetched (absent: none)."""
    wanted = sorted({u for u in urls if u})
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(
            f"SELECT url, text FROM articles WHERE status = 'ok' AND url IN ({marks})", chunk
        )
        out.update((r[0], r[1]) for r in rows)
    return out
