-- System accounts (system:earnings, system:payouts, system:adjustments) are one side of
-- every earning credit and payout settlement. A cached balance on their row meant that
-- every such transfer in the whole system locked and updated that one row, so credits
-- for all users queued behind each other. From here on a system account's balance is
-- derived from its transfers (credits minus debits, both indexed) and its row keeps no
-- cached balance (NULL). User accounts keep theirs: it is what the CHECK constraint
-- holds non-negative under concurrency.

-- Taken first: waits for every transfer in flight (they all hold a lock on this table),
-- then keeps new ones out until the migration commits, so the comparison below sees
-- the final state of the books.
ALTER TABLE ledger_accounts ALTER COLUMN balance DROP NOT NULL;

-- Never drop a cache that disagrees with the transfers: that would erase the evidence
-- `zenith ledger check` reports. Fix the books first, then migrate.
DO $$
DECLARE
    account record;
BEGIN
    FOR account IN
        SELECT a.key, a.balance,
               coalesce((SELECT sum(amount) FROM ledger_transfers WHERE to_account = a.key), 0)
             - coalesce((SELECT sum(amount) FROM ledger_transfers WHERE from_account = a.key), 0) AS computed
          FROM ledger_accounts a
         WHERE a.key LIKE 'system:%'
         ORDER BY a.key
    LOOP
        IF account.balance IS DISTINCT FROM account.computed THEN
            RAISE EXCEPTION 'ledger account % caches balance % but its transfers sum to %; run `zenith ledger check` and correct the books before this migration',
                account.key, account.balance, account.computed;
        END IF;
    END LOOP;
END
$$;

UPDATE ledger_accounts SET balance = NULL, updated_at = now() WHERE key LIKE 'system:%';

-- every user account keeps a cached balance (the non-negative guarantee rests on it)
ALTER TABLE ledger_accounts
    ADD CONSTRAINT ledger_accounts_user_balance_cached CHECK (key LIKE 'system:%' OR balance IS NOT NULL);

COMMENT ON COLUMN ledger_accounts.balance IS
    'cached balance of a user account, updated with each of its transfers; NULL for system accounts, whose balance is derived from ledger_transfers';
