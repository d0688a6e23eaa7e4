"""``zenith ledger check``: prove the books balance.

Recomputes every account's balance from its transfers and compares it with the cached
balance (user accounts keep one; system accounts keep none, NULL, and any value found
there must still agree), and checks the ledger's invariants: every user account has a
cached balance, no user account (nor a system account without ``allow_negative``) below
zero, all balances - user accounts' cached, system accounts' derived - summing to zero
(double entry), no non-positive transfer, each user's reserved balance equal to the
open payouts (requested, approved, sending) waiting on it, and each user's held balance
(earnings on review) equal to their holds still waiting for a decision. Campaign
budgets are cached accounts like a user's: never below zero, so no campaign paid more
than it was given; a closed campaign's budget is empty (the rest went back to
system:sponsors), and every budgeted campaign has its account.
"""

from __future__ import annotations

import argparse
import asyncio

import psycopg

from zenith.domain.payouts import OPEN_STATUSES
from zenith.storage.db import Row, fetch_all, fetch_row
from zenith.storage.ledger import EARNINGS, PAYOUTS


async def check_ledger(conn: psycopg.AsyncConnection) -> list[str]:
    """Every discrepancy found, one sentence each; an empty list means the books balance."""
    problems: list[str] = []
    rows = await fetch_all(
        conn,
        """
        WITH flows AS (
            SELECT to_account AS key, amount FROM ledger_transfers
            UNION ALL
            SELECT from_account, -amount FROM ledger_transfers
        ), sums AS (
            SELECT key, sum(amount) AS total FROM flows GROUP BY key
        )
        SELECT coalesce(a.key, s.key) AS key, a.key LIKE 'system:%' AS system, a.allow_negative,
               a.balance AS cached, coalesce(s.total, 0) AS computed
          FROM ledger_accounts a FULL JOIN sums s ON s.key = a.key
         WHERE a.key IS NULL
            OR a.balance IS DISTINCT FROM coalesce(s.total, 0)
            OR coalesce(s.total, 0) < 0
         ORDER BY 1
        """,
    )
    for row in rows:
        if row["system"] is None:
            problems.append(f"account {row['key']}: has transfers but no ledger_accounts row")
        elif row["cached"] is None and not row["system"]:
            problems.append(f"account {row['key']}: user account without a cached balance")
        elif row["cached"] is not None and row["cached"] != row["computed"]:
            problems.append(
                f"account {row['key']}: cached balance {row['cached']} != sum of transfers {row['computed']}"
            )
        effective = row["computed"] if row["system"] or row["cached"] is None else row["cached"]
        if effective < 0 and (not row["system"] or not row["allow_negative"]):
            problems.append(f"account {row['key']}: negative balance {effective}")
    # user accounts count with their cached balance, system accounts with their transfers
    total = await fetch_row(
        conn,
        """
        SELECT (SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE key NOT LIKE 'system:%')
             + (SELECT coalesce(sum(CASE WHEN to_account LIKE 'system:%' THEN amount ELSE 0 END)
                              - sum(CASE WHEN from_account LIKE 'system:%' THEN amount ELSE 0 END), 0)
                  FROM ledger_transfers) AS total
        """,
    )
    if total["total"] != 0:
        problems.append(f"balances of all accounts sum to {total['total']}, not 0")
    for row in await fetch_all(conn, "SELECT id, amount FROM ledger_transfers WHERE amount <= 0 ORDER BY id"):
        problems.append(f"transfer {row['id']}: non-positive amount {row['amount']}")
    for row in await fetch_all(
        conn,
        """
        WITH open AS (
            SELECT user_id, sum(amount_rub) AS total FROM payouts
             WHERE status = ANY(%s) GROUP BY user_id
        )
        SELECT coalesce(a.user_id, o.user_id) AS user_id, coalesce(a.balance, 0) AS reserved,
               coalesce(o.total, 0) AS open_total
          FROM (SELECT user_id, balance FROM ledger_accounts WHERE key LIKE 'user:%%:reserved') a
          FULL JOIN open o ON o.user_id = a.user_id
         WHERE coalesce(a.balance, 0) <> coalesce(o.total, 0)
         ORDER BY 1
        """,
        (sorted(status.value for status in OPEN_STATUSES),),
    ):
        problems.append(f"user {row['user_id']}: reserved {row['reserved']} != open payouts {row['open_total']}")
    for row in await fetch_all(
        conn,
        """
        WITH open AS (
            SELECT user_id, sum(amount) AS total FROM trust_holds WHERE status = 'held' GROUP BY user_id
        )
        SELECT coalesce(a.user_id, o.user_id) AS user_id, coalesce(a.balance, 0) AS held,
               coalesce(o.total, 0) AS open_total
          FROM (SELECT user_id, balance FROM ledger_accounts WHERE key LIKE 'user:%:held') a
          FULL JOIN open o ON o.user_id = a.user_id
         WHERE coalesce(a.balance, 0) <> coalesce(o.total, 0)
         ORDER BY 1
        """,
    ):
        problems.append(f"user {row['user_id']}: held {row['held']} != open holds {row['open_total']}")
    for row in await fetch_all(
        conn,
        """
        SELECT c.id, c.status, a.balance
          FROM campaigns c LEFT JOIN ledger_accounts a ON a.key = 'campaign:' || c.id || ':budget'
         WHERE c.budgeted AND (a.key IS NULL OR (c.status = 'closed' AND a.balance <> 0))
         ORDER BY c.id
        """,
    ):
        if row["balance"] is None:
            problems.append(f"campaign {row['id']}: budgeted but has no budget account")
        else:
            problems.append(f"campaign {row['id']}: closed with {row['balance']} left in its budget")
    return problems


async def ledger_summary(conn: psycopg.AsyncConnection) -> Row:
    """Counts and totals for the one-line report of a clean check."""
    return await fetch_row(
        conn,
        """
        SELECT (SELECT count(*) FROM ledger_accounts) AS accounts,
               (SELECT count(*) FROM ledger_transfers) AS transfers,
               (SELECT coalesce(sum(amount), 0) FROM ledger_transfers WHERE from_account = %(earnings)s)
             - (SELECT coalesce(sum(amount), 0) FROM ledger_transfers WHERE to_account = %(earnings)s) AS earned,
               (SELECT coalesce(sum(amount), 0) FROM ledger_transfers WHERE to_account = %(payouts)s)
             - (SELECT coalesce(sum(amount), 0) FROM ledger_transfers WHERE from_account = %(payouts)s) AS paid_out
        """,
        {"earnings": EARNINGS, "payouts": PAYOUTS},
    )


async def _check(url: str) -> tuple[list[str], Row]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        # one snapshot for every query, so a busy system cannot produce a false alarm
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return await check_ledger(conn), await ledger_summary(conn)


def run_ledger(args: argparse.Namespace) -> int:
    """``zenith ledger check``: exit 1 and list the discrepancies, or exit 0 with a summary."""
    from zenith.config import get_settings
    from zenith.storage.embedded import resolve_database_url

    if args.ledger_command != "check":
        print(f"zenith ledger: unknown command {args.ledger_command!r}")
        return 2
    problems, summary = asyncio.run(_check(resolve_database_url(get_settings())))
    if problems:
        for problem in problems:
            print(problem)
        print(f"ledger check FAILED: {len(problems)} discrepancy(ies)")
        return 1
    print(
        f"ledger OK: {summary['accounts']} accounts, {summary['transfers']} transfers, "
        f"earned {summary['earned']} RUB, paid out {summary['paid_out']} RUB, balances sum to 0"
    )
    return 0
