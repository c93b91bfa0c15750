-- Operator notices survive restarts and are shared by instances: when a source's "failing"
-- notice went out (NULL: not told). Set by the one poller that claims it, cleared on success,
-- so each failure streak gets one "failing" and one "recovered" notice, not one per restart.
ALTER TABLE sources ADD COLUMN failing_notified_at {{float}};
