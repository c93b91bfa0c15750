-- The evidence archive: an archived copy of every alerted article, kept in WARC files under
-- the archive folder; these tables are its index. One archive_captures row per URL is the
-- work queue (phase capture, then watch, then done) and the page's state; one
-- archive_snapshots row per copy written to a WARC file (or pointed to: a revisit of an
-- identical payload). Hashes are SHA-256 in hex.
CREATE TABLE archive_captures (
    id {{pk}},
    url TEXT NOT NULL UNIQUE,
    alert_id BIGINT,
    item_id BIGINT,
    source_id TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    phase TEXT NOT NULL DEFAULT 'capture',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at {{float}} NOT NULL,
    claimed_by TEXT,
    claimed_until {{float}},
    last_error TEXT,
    last_error_at {{float}},
    first_snapshot_id BIGINT,
    latest_snapshot_id BIGINT,
    payload_sha256 TEXT NOT NULL DEFAULT '',
    captured_at {{float}},
    checked_at {{float}},
    checks INTEGER NOT NULL DEFAULT 0,
    watch_step INTEGER NOT NULL DEFAULT 0,
    changed_notified_at {{float}},
    removed_notified_at {{float}},
    created_at {{float}} NOT NULL
);
CREATE INDEX archive_captures_due ON archive_captures (phase, due_at);
CREATE INDEX archive_captures_alert ON archive_captures (alert_id);

CREATE TABLE archive_snapshots (
    id {{pk}},
    capture_id BIGINT NOT NULL REFERENCES archive_captures (id) ON DELETE CASCADE,
    record_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    url TEXT NOT NULL,
    final_url TEXT NOT NULL DEFAULT '',
    http_status INTEGER NOT NULL DEFAULT 0,
    fetched_at {{float}} NOT NULL,
    payload_sha256 TEXT NOT NULL,
    payload_length BIGINT NOT NULL DEFAULT 0,
    truncated TEXT NOT NULL DEFAULT '',
    refers_to TEXT NOT NULL DEFAULT '',
    text_sha256 TEXT NOT NULL DEFAULT '',
    text_chars BIGINT NOT NULL DEFAULT 0,
    text_record_id TEXT NOT NULL DEFAULT '',
    warc_file TEXT NOT NULL,
    warc_offset BIGINT NOT NULL,
    warc_length BIGINT NOT NULL,
    text_file TEXT NOT NULL DEFAULT '',
    text_offset BIGINT NOT NULL DEFAULT 0,
    text_length BIGINT NOT NULL DEFAULT 0,
    stored_bytes BIGINT NOT NULL DEFAULT 0,
    created_at {{float}} NOT NULL
);
CREATE INDEX archive_snapshots_capture ON archive_snapshots (capture_id);
CREATE INDEX archive_snapshots_payload ON archive_snapshots (payload_sha256);
CREATE INDEX archive_snapshots_created ON archive_snapshots (created_at);
