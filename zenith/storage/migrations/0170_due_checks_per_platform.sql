-- The clock claims due and lost checks one platform at a time. With next_check_at alone
-- in the index, a platform with nothing due walks past every due video of the other
-- platform (a YouTube backlog made each TikTok claim read all of it); with the platform
-- first each claim reads only its own rows.
CREATE INDEX videos_due_checks_by_platform ON videos (platform, next_check_at)
    WHERE status = 'approved' AND check_enqueued_at IS NULL;
CREATE INDEX videos_enqueued_checks_by_platform ON videos (platform, check_enqueued_at)
    WHERE status = 'approved' AND check_enqueued_at IS NOT NULL;
DROP INDEX videos_due_checks;
DROP INDEX videos_enqueued_checks;
