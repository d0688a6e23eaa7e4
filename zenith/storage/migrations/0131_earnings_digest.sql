-- Daily earnings digests (`zenith.storage.digests`): one row per creator and day, naming
-- the last ledger transfer it covers, so the next digest starts after it and a second
-- run on the same day sends nothing.
CREATE TABLE earnings_digests (
    user_id          bigint      NOT NULL REFERENCES users (id),
    day              date        NOT NULL,
    covers_until_id  bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
CREATE INDEX earnings_digests_latest ON earnings_digests (user_id, covers_until_id DESC);

-- Creators who turned the digest off in the bot (their credits are then announced as
-- they come, at most once per video per window).
CREATE TABLE earnings_digest_optouts (
    user_id     bigint      PRIMARY KEY REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- the digest reads recent earnings by transfer id
CREATE INDEX ledger_transfers_earnings ON ledger_transfers (id, video_id) WHERE kind = 'earning';
