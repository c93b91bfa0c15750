-- Stories: reports of one development across outlets and languages, grouped by watcher.stories.
-- The first report alerts (first_alert_id); later ones are attached as story_reports and, when
-- they do not alert again, only edit the message already sent ("also reported by: ...").

CREATE TABLE stories (
    id {{pk}},
    first_alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    title TEXT NOT NULL DEFAULT '',
    topics TEXT NOT NULL DEFAULT '[]',
    best_score {{float}} NOT NULL DEFAULT 0,
    first_seen_at {{float}} NOT NULL,
    last_seen_at {{float}} NOT NULL
);
CREATE INDEX stories_last_seen ON stories (last_seen_at);

CREATE TABLE story_reports (
    id {{pk}},
    story_id BIGINT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    item_id BIGINT,
    alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    source_id TEXT NOT NULL,
    source_name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    topics TEXT NOT NULL DEFAULT '[]',
    score {{float}} NOT NULL DEFAULT 0,
    published_at {{float}} NOT NULL,
    created_at {{float}} NOT NULL,
    UNIQUE (story_id, item_id)
);
CREATE INDEX story_reports_story ON story_reports (story_id);
CREATE INDEX story_reports_published ON story_reports (published_at);
