-- Campaign life cycle: the clock opens scheduled drafts when their start date comes and
-- closes campaigns whose end date passed; creators who joined hear once that a
-- campaign is nearly spent (nearly_spent_at is set by the credit that crosses the line,
-- under the campaign's row lock, so exactly one credit stages that notice).
ALTER TABLE campaigns ADD COLUMN nearly_spent_at timestamptz;
CREATE INDEX campaigns_ending ON campaigns (ends_at) WHERE status <> 'closed' AND ends_at IS NOT NULL;
CREATE INDEX campaigns_starting ON campaigns (starts_at) WHERE status = 'draft' AND starts_at IS NOT NULL;
