-- Article cache for full text: one row per canonical URL, so an article linked by
-- several sources, or seen again, is fetched once. status: ok, failed, robots, blocked.
CREATE TABLE articles (
    url TEXT PRIMARY KEY,
    final_url TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    fetched_at {{float}} NOT NULL
);
CREATE INDEX articles_fetched ON articles (fetched_at);
