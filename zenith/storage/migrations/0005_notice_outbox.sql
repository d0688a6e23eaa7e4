-- Transactional outbox for notices to creators (`zenith.storage.outbox`). An actor writes
-- the notice in the same transaction as the state change it reports; after the commit it
-- enqueues the notify message and stamps sent_at. The clock relays rows still unsent after
-- a short grace (the worker died in between) and purges sent rows after a retention period.
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id),
    key         text        NOT NULL,
    params      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- the notifications actor's dedup key: a relay plus the original send deliver once
    dedup_key   text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    relays      integer     NOT NULL DEFAULT 0
);
-- the clock's relay reads the oldest unsent rows; the purge the oldest sent ones
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Credit notices are throttled per video (at most one per window; amounts credited in
-- between go out with the next one). The baseline lives here, next to the credit, so the
-- decision is taken in the credit's own transaction.
CREATE TABLE credit_notices (
    video_id       bigint        PRIMARY KEY REFERENCES videos (id),
    notified_total numeric(18,2) NOT NULL,
    notified_at    timestamptz   NOT NULL
);
