-- Campaigns: several paid programs at once, each with its own terms and, unless it is
-- the default program, its own budget account (campaign:N:budget) funded by a ledger
-- transfer from system:sponsors. Every credit of a budgeted campaign's video comes out
-- of that budget; the budget's cached balance may never go below zero (the same CHECK
-- as a user account), so a campaign cannot pay more than it holds.

CREATE TABLE campaigns (
    id             bigserial     PRIMARY KEY,
    name           text          NOT NULL CHECK (name <> '' AND length(name) <= 100),
    -- who put the money in; unspent budget goes back to system:sponsors under this name
    funder         text          NOT NULL DEFAULT 'operator',
    -- NULL: the program's rate card and limits (RATE_PER_1000_RUB, RATE_CARD, MIN_VIEWS, VIDEO_CAP_RUB)
    rate_per_1000  numeric(18,2) CHECK (rate_per_1000 > 0),
    min_views      integer       CHECK (min_views >= 0),
    cap_per_video  numeric(18,2) CHECK (cap_per_video > 0),
    platforms      text[]        NOT NULL DEFAULT '{youtube,tiktok,instagram}'
                   CHECK (platforms <@ '{youtube,tiktok,instagram}' AND cardinality(platforms) > 0),
    -- hashtags (#tag) or mentions (@name) a video's title or description must carry
    required_tags  text[]        NOT NULL DEFAULT '{}',
    -- false only for the default program, which is paid from system:earnings as before
    budgeted       boolean       NOT NULL DEFAULT true,
    status         text          NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'paused', 'closed')),
    starts_at      timestamptz,
    ends_at        timestamptz,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    close_reason   text,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
-- the default program: today's single program, open, without a budget
INSERT INTO campaigns (id, name, budgeted, status) VALUES (1, 'ZenithMedia', false, 'open');
SELECT setval('campaigns_id_seq', 1);
CREATE INDEX campaigns_open ON campaigns (id) WHERE status = 'open';

CREATE TABLE campaign_members (
    campaign_id bigint      NOT NULL REFERENCES campaigns (id),
    user_id     bigint      NOT NULL REFERENCES users (id),
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_members_user ON campaign_members (user_id, campaign_id);

-- every existing video belongs to the default program
ALTER TABLE videos ADD COLUMN campaign_id bigint NOT NULL DEFAULT 1 REFERENCES campaigns (id);
CREATE INDEX videos_campaign ON videos (campaign_id, id);

ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_key_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_key_check
    CHECK (key ~ '^(system:[a-z_]+|user:[0-9]+:(available|reserved|held)|campaign:[0-9]+:budget)$');

ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_kind_check;
ALTER TABLE ledger_transfers ADD CONSTRAINT ledger_transfers_kind_check
    CHECK (kind IN ('earning', 'reserve', 'release', 'payout', 'adjustment', 'hold', 'hold_release', 'hold_reverse',
                    'fund', 'fund_return'));

-- where campaign money comes from and goes back to (goes negative by what is in budgets and was spent)
INSERT INTO ledger_accounts (key, allow_negative, balance) VALUES ('system:sponsors', true, NULL);
