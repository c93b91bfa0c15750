-- Core state: sources' fetch state, items seen, alerts, and the delivery outbox.
-- Times are seconds since the epoch (UTC) as {{float}}.

CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL DEFAULT '',
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    next_check_at {{float}},
    last_checked_at {{float}},
    last_success_at {{float}},
    last_error_at {{float}},
    last_error_kind TEXT,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    first_polled_at {{float}},
    items_seen INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until {{float}}
);

CREATE TABLE items (
    id {{pk}},
    source_id TEXT NOT NULL,
    guid TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    published_at {{float}},
    first_seen_at {{float}} NOT NULL,
    scores TEXT NOT NULL DEFAULT '{}',
    UNIQUE (source_id, guid)
);
CREATE INDEX items_url ON items (url);
CREATE INDEX items_first_seen ON items (first_seen_at);

-- One row per alerted development. dedupe_key is the canonical URL when there is one, else
-- "source_id guid": its unique constraint makes "alert at most once" hold on both dialects.
-- An alert keeps its own copy of what messages need, so pruning items never loses one.
CREATE TABLE alerts (
    id {{pk}},
    dedupe_key TEXT NOT NULL UNIQUE,
    item_id BIGINT,
    source_id TEXT NOT NULL,
    source_name TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    published_at {{float}} NOT NULL,
    topics TEXT NOT NULL,
    score {{float}} NOT NULL,
    matches TEXT NOT NULL DEFAULT '[]',
    story_id BIGINT,
    created_at {{float}} NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at);

-- The outbox: one row per (alert, channel, target, action), written in the alert's own
-- transaction before anything is sent; marked sent with the channel's message reference after.
CREATE TABLE outbox (
    id {{pk}},
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT 'send',
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{float}} NOT NULL,
    claimed_by TEXT,
    claimed_until {{float}},
    last_error TEXT,
    sent_ref TEXT,
    created_at {{float}} NOT NULL,
    sent_at {{float}},
    UNIQUE (alert_id, channel, target, action)
);
CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at);
