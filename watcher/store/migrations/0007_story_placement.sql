-- Story grouping that survives restarts and is shared by instances.
-- The entities the rules matched in a report: a rebuilt index groups as the running one did.
ALTER TABLE story_reports ADD COLUMN entities TEXT NOT NULL DEFAULT '[]';
-- A report whose canonical URL was seen before (an aggregator's repost) joins that story.
CREATE INDEX story_reports_url ON story_reports (url);
-- One row (id 1, written by the first placement) that every transaction placing reports
-- writes first: on PostgreSQL it is locked until that transaction ends, so instances sharing
-- the store place reports one at a time and each sees the stories the others committed
-- (SQLite serialises writers anyway).
CREATE TABLE story_placement (
    id INTEGER PRIMARY KEY,
    placed_at {{float}} NOT NULL DEFAULT 0
);
