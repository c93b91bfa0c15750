-- Email digests: recipients (address, topics, local send time and time zone) and one row per
-- digest, recorded (with its Message-ID and the alert ids it covers) BEFORE it is sent and
-- marked delivered after, so a crash between the two resends the same message, never a second.
-- topics is a JSON list; an empty list means "every topic".

CREATE TABLE digest_recipients (
    email TEXT PRIMARY KEY,
    topics TEXT NOT NULL DEFAULT '[]',
    send_at TEXT NOT NULL DEFAULT '08:00',
    tz TEXT NOT NULL DEFAULT 'UTC',
    active INTEGER NOT NULL DEFAULT 1,
    created_at {{float}} NOT NULL,
    updated_at {{float}} NOT NULL
);

CREATE TABLE digests (
    id {{pk}},
    recipient TEXT NOT NULL,
    digest_date TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    alert_ids TEXT NOT NULL DEFAULT '[]',
    max_alert_id BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{float}} NOT NULL,
    last_error TEXT,
    created_at {{float}} NOT NULL,
    delivered_at {{float}},
    UNIQUE (recipient, digest_date)
);
CREATE INDEX digests_due ON digests (status, next_attempt_at);
