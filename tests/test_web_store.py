"""The article cache on SQLite and PostgreSQL: one row per canonical URL, upserted, pruned."""

from __future__ import annotations

from watcher.store import Database
from watcher.store.articles import CachedArticle, get_article, prune_articles, put_article


def test_article_cache_upsert_and_prune(store_db: Database) -> None:
    url = "https://example.org/a"
    with store_db.transaction() as tx:
        assert get_article(tx, url) is None
        put_article(tx, CachedArticle(url, url, "failed", "", "timeout", 0, 100.0))
        put_article(tx, CachedArticle(url, url + "?p=1", "ok", "Текст 본문", "", 5000, 200.0))
    with store_db.transaction() as tx:
        got = get_article(tx, url)
        assert got == CachedArticle(url, url + "?p=1", "ok", "Текст 본문", "", 5000, 200.0)
        assert prune_articles(tx, 150.0) == 0
        assert prune_articles(tx, 250.0) == 1
        assert get_article(tx, url) is None
