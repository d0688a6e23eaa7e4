-- The growth judge reads, for each snapshot of a video's history, whether it was held as
-- a spike (the engagement span never reaches back across one): look signals up by snapshot.
CREATE INDEX trust_signals_snapshot ON trust_signals (snapshot_id) WHERE snapshot_id IS NOT NULL;
