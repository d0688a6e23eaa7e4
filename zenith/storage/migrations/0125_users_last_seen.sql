-- When a user last wrote to the bot (refreshed at most hourly), so that active_users can
-- count creators active in the last 24 hours; NULL: not seen since this column exists.
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;
CREATE INDEX users_last_seen ON users (last_seen_at) WHERE status = 'active';
