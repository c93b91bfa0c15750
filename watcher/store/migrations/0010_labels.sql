-- Labels (docs/labels.md): what people said about items, and the near misses they review.
-- A vote is one person's verdict on one item (a new vote replaces the old); admins' votes are
-- labels, the others' signals. Votes keep their item: the pruner skips items that have votes.
-- role, channel and verdict are checked by watcher.store.labels.check_vote.

CREATE TABLE votes (
    id {{pk}},
    voter TEXT NOT NULL,
    role TEXT NOT NULL,
    channel TEXT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    verdict TEXT NOT NULL,
    topic TEXT,
    created_at {{float}} NOT NULL,
    updated_at {{float}} NOT NULL,
    UNIQUE (voter, item_id)
);
CREATE INDEX votes_item ON votes (item_id);
CREATE INDEX votes_updated ON votes (updated_at);

-- Items that met a topic's required entities and scored below its threshold (at least half of
-- it) and did not alert: one row, written with the item (the poll stores an item once). The
-- relevance model's possible matches and held-back items are near misses too; they are its
-- model_decisions rows, not copied here.
CREATE TABLE near_misses (
    id {{pk}},
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    topics TEXT NOT NULL,
    scores TEXT NOT NULL DEFAULT '{}',
    thresholds TEXT NOT NULL DEFAULT '{}',
    created_at {{float}} NOT NULL
);
CREATE INDEX near_misses_item ON near_misses (item_id);
CREATE INDEX near_misses_created ON near_misses (created_at);
