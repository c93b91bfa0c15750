-- Telegram subscribers: who gets alerts, which topics, muted until when. Survives restarts.
-- topics is a JSON list; an empty list means "every topic".

CREATE TABLE telegram_chats (
    chat_id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'private',
    title TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    topics TEXT NOT NULL DEFAULT '[]',
    muted_until {{float}},
    created_at {{float}} NOT NULL,
    updated_at {{float}} NOT NULL,
    last_error TEXT
);
