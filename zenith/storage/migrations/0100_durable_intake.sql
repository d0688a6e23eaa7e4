-- PostgreSQL is the only home of accepted work; a broker message is a wake-up call.

-- A link the bot answered "accepted" for is a row before the answer goes out
-- (`zenith.storage.submissions`). The submission actor finishes it; the clock re-sends
-- rows still 'received' whose wake-up is overdue (the message was lost).
CREATE TABLE submissions (
    id          bigserial   PRIMARY KEY,
    -- the submit_video message's request id (one per link of one Telegram message)
    request_id  text        NOT NULL UNIQUE,
    user_id     bigint      NOT NULL REFERENCES users (id),
    url         text        NOT NULL,
    platform    text        NOT NULL CHECK (platform IN ('youtube', 'tiktok', 'instagram')),
    status      text        NOT NULL DEFAULT 'received'
                CHECK (status IN ('received', 'stored', 'refused', 'failed')),
    -- why it was refused or failed (the submissions metric's outcome label)
    outcome     text,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- when a submit_video message is expected to be handled; overdue -> re-sent
    wake_at     timestamptz NOT NULL DEFAULT now(),
    resends     integer     NOT NULL DEFAULT 0,
    finished_at timestamptz
);
CREATE INDEX submissions_waiting ON submissions (wake_at) WHERE status = 'received';
CREATE INDEX submissions_user ON submissions (user_id, received_at DESC);

-- An outbox row was handed to the broker (enqueued_at) and, separately, confirmed by the
-- notifications actor after Telegram answered (sent_at). A row enqueued but never
-- confirmed is re-sent: the broker may have lost the message.
ALTER TABLE outbox ADD COLUMN enqueued_at timestamptz;
UPDATE outbox SET enqueued_at = sent_at WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_unconfirmed ON outbox (coalesce(enqueued_at, created_at)) WHERE sent_at IS NULL;

-- Per video, answers that did not settle it: misses ("not found", empty answers) and
-- answers that could not be understood. A miss is final only after several checks over
-- a span of time; unreadable answers are retried, then the video is quarantined.
CREATE TABLE video_check_faults (
    video_id         bigint      PRIMARY KEY REFERENCES videos (id),
    missing_checks   integer     NOT NULL DEFAULT 0,
    missing_since    timestamptz,
    missing_reason   text,
    unreadable_count integer     NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Videos set aside because the platform's answer about them could not be understood:
-- the raw answer and the reason, for an admin. A quarantined video is not re-checked
-- (next_check_at and its claim are cleared) until an admin releases it.
CREATE TABLE video_quarantine (
    video_id       bigint      PRIMARY KEY REFERENCES videos (id),
    reason         text        NOT NULL,
    raw_answer     text        NOT NULL,
    attempts       integer     NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    released_at    timestamptz,
    released_by    bigint
);
CREATE INDEX video_quarantine_open ON video_quarantine (quarantined_at DESC) WHERE released_at IS NULL;
