-- A payout Crypto Pay refused with INSUFFICIENT_FUNDS goes back to 'approved' and waits
-- for the app's wallet to be funded: funds_wait_since says since when (NULL: not waiting).
ALTER TABLE payouts ADD COLUMN funds_wait_since timestamptz;
CREATE INDEX payouts_waiting_for_funds ON payouts (asset, funds_wait_since) WHERE funds_wait_since IS NOT NULL;
