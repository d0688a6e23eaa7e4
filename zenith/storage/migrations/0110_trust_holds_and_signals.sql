-- Trust layer: what a platform returns is evidence, not money. Doubtful growth is
-- credited to a held account per creator (user:N:held, shown as "on review", never
-- withdrawable) until an admin, or a quiet period, releases it to available or
-- reverses it to system:earnings. Signals keep the numbers that triggered them.

ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_key_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_key_check
    CHECK (key ~ '^(system:[a-z_]+|user:[0-9]+:(available|reserved|held))$');

ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_kind_check;
ALTER TABLE ledger_transfers ADD CONSTRAINT ledger_transfers_kind_check
    CHECK (kind IN ('earning', 'reserve', 'release', 'payout', 'adjustment', 'hold', 'hold_release', 'hold_reverse'));

CREATE TABLE trust_holds (
    id              bigserial PRIMARY KEY,
    user_id         bigint        NOT NULL REFERENCES users (id),
    video_id        bigint        NOT NULL REFERENCES videos (id),
    -- one hold per snapshot: a replayed check holds nothing twice
    snapshot_id     bigint        NOT NULL UNIQUE REFERENCES view_snapshots (id),
    amount          numeric(18,2) NOT NULL CHECK (amount > 0),
    views_before    bigint        NOT NULL,
    views_now       bigint        NOT NULL,
    status          text          NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'reversed')),
    created_at      timestamptz   NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    -- Telegram id of the admin, 0 for the automatic release after a quiet period
    decided_by      bigint,
    decision_reason text,
    CHECK ((status = 'held') = (decided_at IS NULL))
);
-- the review queue (oldest first) and one creator's open holds
CREATE INDEX trust_holds_open ON trust_holds (created_at, id) WHERE status = 'held';
CREATE INDEX trust_holds_user ON trust_holds (user_id, status, created_at);
CREATE INDEX trust_holds_video ON trust_holds (video_id);

CREATE TABLE trust_signals (
    id          bigserial PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id),
    video_id    bigint      REFERENCES videos (id),
    snapshot_id bigint      REFERENCES view_snapshots (id),
    hold_id     bigint      REFERENCES trust_holds (id),
    kind        text        NOT NULL CHECK (kind IN ('implausible', 'spike', 'low_engagement', 'late_growth',
                                                     'duplicate_video', 'shared_channel', 'shared_wallet')),
    evidence    jsonb       NOT NULL,
    -- open until an admin decides: cleared (growth released) or confirmed (reversed)
    state       text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'cleared', 'confirmed')),
    -- a redelivered message records the same observation once
    dedup_key   text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trust_signals_user ON trust_signals (user_id, created_at DESC);
CREATE INDEX trust_signals_hold ON trust_signals (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX trust_signals_video ON trust_signals (video_id, created_at) WHERE video_id IS NOT NULL;
