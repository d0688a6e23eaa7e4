-- Initial schema: users, platform accounts, videos and their view snapshots, the
-- double-entry ledger, payouts, exchange rates and the admin audit log.
-- Money is numeric(18,2) RUB; asset amounts and rates keep more digits.

CREATE TABLE users (
    id           bigserial PRIMARY KEY,
    telegram_id  bigint      NOT NULL UNIQUE,
    username     text,
    first_name   text,
    language     text        NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en')),
    tier         text        NOT NULL DEFAULT 'bronze' CHECK (tier IN ('bronze', 'gold')),
    -- inactive: the user blocked the bot; banned: an admin banned them
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'banned', 'inactive')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- broadcasts page through active users by id
CREATE INDEX users_active_id ON users (id) WHERE status = 'active';

CREATE TABLE platform_accounts (
    id                bigserial PRIMARY KEY,
    user_id           bigint      NOT NULL REFERENCES users (id),
    platform          text        NOT NULL CHECK (platform IN ('youtube', 'tiktok')),
    -- normalised handle: lower case, no leading '@'
    handle            text        NOT NULL CHECK (handle <> '' AND handle = lower(handle)),
    -- the platform's own id (YouTube channel id UC..., TikTok user id) once known
    external_id       text,
    verification_code text        NOT NULL,
    state             text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'failed')),
    failure_reason    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    verified_at       timestamptz,
    CHECK (state <> 'verified' OR verified_at IS NOT NULL)
);
-- one verified owner per account on a platform
CREATE UNIQUE INDEX platform_accounts_verified_handle
    ON platform_accounts (platform, handle) WHERE state = 'verified';
CREATE UNIQUE INDEX platform_accounts_verified_external
    ON platform_accounts (platform, external_id) WHERE state = 'verified' AND external_id IS NOT NULL;
CREATE INDEX platform_accounts_user ON platform_accounts (user_id, created_at DESC);

CREATE TABLE videos (
    id                bigserial PRIMARY KEY,
    platform          text          NOT NULL CHECK (platform IN ('youtube', 'tiktok')),
    external_id       text          NOT NULL,
    user_id           bigint        NOT NULL REFERENCES users (id),
    account_id        bigint        REFERENCES platform_accounts (id),
    url               text          NOT NULL,
    title             text,
    author            text,
    status            text          NOT NULL DEFAULT 'pending_moderation'
                      CHECK (status IN ('pending_moderation', 'approved', 'rejected', 'failed', 'finished')),
    status_reason     text,
    status_changed_at timestamptz   NOT NULL DEFAULT now(),
    moderated_by      bigint,
    views             bigint        NOT NULL DEFAULT 0 CHECK (views >= 0),
    likes             bigint        NOT NULL DEFAULT 0 CHECK (likes >= 0),
    comments          bigint        NOT NULL DEFAULT 0 CHECK (comments >= 0),
    credited          numeric(18,2) NOT NULL DEFAULT 0 CHECK (credited >= 0),
    next_check_at     timestamptz,
    -- set when the clock enqueued a check; cleared when the check is stored
    check_enqueued_at timestamptz,
    last_checked_at   timestamptz,
    submitted_at      timestamptz   NOT NULL DEFAULT now(),
    published_at      timestamptz,
    trace_id          text,
    -- the submission's request id: a resent submit_video is a no-op
    request_id        text          UNIQUE,
    UNIQUE (platform, external_id)
);
CREATE INDEX videos_user_submitted ON videos (user_id, submitted_at DESC, id DESC);
CREATE INDEX videos_status_submitted ON videos (status, submitted_at, id);
CREATE INDEX videos_submitted ON videos (submitted_at);
-- the clock's due re-checks
CREATE INDEX videos_due_checks ON videos (next_check_at)
    WHERE status = 'approved' AND check_enqueued_at IS NULL;
-- checks enqueued but never stored (message lost)
CREATE INDEX videos_enqueued_checks ON videos (check_enqueued_at)
    WHERE status = 'approved' AND check_enqueued_at IS NOT NULL;

CREATE TABLE view_snapshots (
    id        bigserial PRIMARY KEY,
    video_id  bigint      NOT NULL REFERENCES videos (id),
    views     bigint      NOT NULL CHECK (views >= 0),
    likes     bigint      NOT NULL DEFAULT 0 CHECK (likes >= 0),
    comments  bigint      NOT NULL DEFAULT 0 CHECK (comments >= 0),
    taken_at  timestamptz NOT NULL,
    -- one snapshot per video and instant: storing it twice is a no-op, and so is its credit
    UNIQUE (video_id, taken_at)
);

-- Ledger. Every account has a cached balance kept in step with its transfers in the
-- same transaction; `zenith ledger check` recomputes it from the transfers.
CREATE TABLE ledger_accounts (
    key            text          PRIMARY KEY CHECK (key ~ '^(system:[a-z_]+|user:[0-9]+:(available|reserved))$'),
    user_id        bigint        REFERENCES users (id),
    -- only system accounts (the source of earnings) may go below zero
    allow_negative boolean       NOT NULL DEFAULT false,
    balance        numeric(18,2) NOT NULL DEFAULT 0,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_non_negative CHECK (allow_negative OR balance >= 0),
    CONSTRAINT ledger_accounts_user_never_negative CHECK (user_id IS NULL OR NOT allow_negative)
);
CREATE INDEX ledger_accounts_user ON ledger_accounts (user_id) WHERE user_id IS NOT NULL;

INSERT INTO ledger_accounts (key, allow_negative) VALUES
    ('system:earnings', true),     -- credited earnings come from here
    ('system:payouts', false),     -- money that left to Crypto Pay
    ('system:adjustments', true);  -- manual corrections by admins

CREATE TABLE payouts (
    id                   bigserial PRIMARY KEY,
    user_id              bigint        NOT NULL REFERENCES users (id),
    amount_rub           numeric(18,2) NOT NULL CHECK (amount_rub > 0),
    asset                text          NOT NULL,
    asset_amount         numeric(36,18) CHECK (asset_amount > 0),
    rate                 numeric(36,18) CHECK (rate > 0),
    rate_fetched_at      timestamptz,
    status               text          NOT NULL DEFAULT 'requested'
                         CHECK (status IN ('requested', 'approved', 'sending', 'paid', 'failed', 'rejected')),
    failure_reason       text,
    -- Crypto Pay's spend_id: the same payout can never be paid twice
    spend_id             text          NOT NULL UNIQUE,
    provider_transfer_id text          UNIQUE,
    -- the bot's request id: a double tap creates one payout
    request_id           text          UNIQUE,
    decided_by           bigint,
    decided_at           timestamptz,
    decision_reason      text,
    attempts             integer       NOT NULL DEFAULT 0,
    created_at           timestamptz   NOT NULL DEFAULT now(),
    updated_at           timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX payouts_status_created ON payouts (status, created_at, id);
CREATE INDEX payouts_user_created ON payouts (user_id, created_at DESC, id DESC);
CREATE INDEX payouts_sending ON payouts (updated_at) WHERE status = 'sending';

CREATE TABLE ledger_transfers (
    id              bigserial PRIMARY KEY,
    from_account    text          NOT NULL REFERENCES ledger_accounts (key),
    to_account      text          NOT NULL REFERENCES ledger_accounts (key),
    amount          numeric(18,2) NOT NULL CHECK (amount > 0),
    kind            text          NOT NULL CHECK (kind IN ('earning', 'reserve', 'release', 'payout', 'adjustment')),
    idempotency_key text          NOT NULL UNIQUE,
    video_id        bigint        REFERENCES videos (id),
    payout_id       bigint        REFERENCES payouts (id),
    snapshot_id     bigint        REFERENCES view_snapshots (id),
    memo            text,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    CHECK (from_account <> to_account)
);
CREATE INDEX ledger_transfers_from ON ledger_transfers (from_account, id);
CREATE INDEX ledger_transfers_to ON ledger_transfers (to_account, id);
CREATE INDEX ledger_transfers_video ON ledger_transfers (video_id) WHERE video_id IS NOT NULL;
CREATE INDEX ledger_transfers_payout ON ledger_transfers (payout_id) WHERE payout_id IS NOT NULL;

-- Transfers are history: a correction is a new transfer, never an edit.
CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_transfers is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER ledger_transfers_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only();

CREATE TABLE exchange_rates (
    id         bigserial PRIMARY KEY,
    source     text           NOT NULL,  -- asset, e.g. USDT
    target     text           NOT NULL,  -- fiat, e.g. RUB
    rate       numeric(36,18) NOT NULL CHECK (rate > 0),
    fetched_at timestamptz    NOT NULL,
    provider   text           NOT NULL DEFAULT 'cryptopay'
);
CREATE INDEX exchange_rates_pair_fetched ON exchange_rates (source, target, fetched_at DESC);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    admin_id    bigint      NOT NULL,  -- Telegram id of the admin (or 0 for the system)
    action      text        NOT NULL,
    target_type text        NOT NULL,  -- 'video', 'payout', 'user', ...
    target_id   text        NOT NULL,
    reason      text,
    details     jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_admin ON audit_log (admin_id, at DESC);
