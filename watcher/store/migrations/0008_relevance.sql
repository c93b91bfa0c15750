-- The relevance model's decisions (docs/relevance.md). An alert the model sent as a possible
-- match carries the reason in model_note (what messages show); every decision of the model
-- (a possible match sent, a rule hit held back) is also a model_decisions row, kept as long
-- as its item.

ALTER TABLE alerts ADD COLUMN model_note TEXT NOT NULL DEFAULT '';

CREATE TABLE model_decisions (
    id {{pk}},
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,
    decision TEXT NOT NULL,
    topics TEXT NOT NULL DEFAULT '[]',
    model_scores TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT '',
    model_id TEXT NOT NULL DEFAULT '',
    created_at {{float}} NOT NULL
);
CREATE INDEX model_decisions_item ON model_decisions (item_id);
CREATE INDEX model_decisions_created ON model_decisions (created_at);
