-- A user has at most one pending verification per platform account, so linking the
-- same account twice (a repeated tap, a retried message) refreshes it instead of
-- piling up rows.
CREATE UNIQUE INDEX platform_accounts_one_pending
    ON platform_accounts (user_id, platform, handle) WHERE state = 'pending';
