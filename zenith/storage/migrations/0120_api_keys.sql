-- Keys of the HTTP API (`zenith apikey`, `zenith.storage.api_keys`). Only the SHA-256 of a
-- key is kept; key_id is its public part, shown in lists and logs. A revoked key stays
-- (revoked_at set) so its requests in old logs can still be named.
CREATE TABLE api_keys (
    id                    bigserial   PRIMARY KEY,
    key_id                text        NOT NULL UNIQUE,
    key_hash              text        NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    name                  text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scope                 text        NOT NULL CHECK (scope IN ('read', 'submit', 'admin')),
    rate_limit_per_minute integer     NOT NULL CHECK (rate_limit_per_minute BETWEEN 1 AND 1000000),
    created_at            timestamptz NOT NULL DEFAULT now(),
    revoked_at            timestamptz
);
