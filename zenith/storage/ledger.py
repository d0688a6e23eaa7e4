"""Double-entry ledger: every movement of money is one transfer between two accounts.

Accounts are named by string keys:
  ``user:{user_id}:available``  earned, can be withdrawn
  ``user:{user_id}:reserved``   held for a payout in progress
  ``system:earnings``           source of credited earnings (goes negative by what was earned)
  ``system:payouts``            money that left to Crypto Pay
  ``system:adjustments``        manual corrections by admins (may go negative)

A transfer moves a positive ``amount`` from one account to another under a unique
idempotency key; reusing the key is a no-op that returns False, so every retried
actor can call it again safely. Cached balances in ``ledger_accounts`` change in the
same transaction; account rows are locked in key order so concurrent transfers never
deadlock, and a CHECK constraint refuses a negative user balance as a last line of
defence. Call these functions inside ``unit_of_work`` (one transaction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import psycopg
from psycopg import pq

from zenith.storage.db import fetch_all, fetch_one

EARNINGS = "system:earnings"
PAYOUTS = "system:payouts"
ADJUSTMENTS = "system:adjustments"
SYSTEM_ACCOUNTS = frozenset({EARNINGS, PAYOUTS, ADJUSTMENTS})
KINDS = frozenset({"earning", "reserve", "release", "payout", "adjustment"})
CENT = Decimal("0.01")
_USER_KEY = re.compile(r"^user:(\d+):(available|reserved)$")


class LedgerError(Exception):
    """Base of the ledger's errors."""


class InsufficientFunds(LedgerError):
    """The transfer would take a user account below zero; nothing was changed."""

    def __init__(self, account: str, balance: Decimal, amount: Decimal) -> None:
        super().__init__(f"{account} holds {balance}, cannot move {amount}")
        self.account = account
        self.balance = balance
        self.amount = amount


class InvalidAmount(LedgerError, ValueError):
    """The amount is not a positive Decimal with at most two decimal places."""


class UnknownAccount(LedgerError, ValueError):
    """The account key is neither a system account nor ``user:{id}:available|reserved``."""


class NotInTransaction(LedgerError):
    """A transfer was attempted on an autocommit connection outside a transaction."""


@dataclass(frozen=True)
class UserBalances:
    available: Decimal
    reserved: Decimal
    paid_out: Decimal


@dataclass(frozen=True)
class Transfer:
    id: int
    from_account: str
    to_account: str
    amount: Decimal
    kind: str
    idempotency_key: str
    video_id: int | None
    payout_id: int | None
    snapshot_id: int | None
    memo: str | None
    created_at: datetime


def available_account(user_id: int) -> str:
    return f"user:{int(user_id)}:available"


def reserved_account(user_id: int) -> str:
    return f"user:{int(user_id)}:reserved"


def check_amount(amount: Decimal) -> Decimal:
    """Return ``amount`` if it is a positive Decimal with at most two decimals, else raise InvalidAmount."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount(f"amount must be a finite Decimal, got {amount!r}")
    try:
        exact = amount.quantize(CENT)
    except InvalidOperation as exc:
        raise InvalidAmount(f"amount out of range: {amount}") from exc
    if exact != amount:
        raise InvalidAmount(f"amount has more than two decimal places: {amount}")
    if exact <= 0:
        raise InvalidAmount(f"amount must be positive, got {amount}")
    return exact


async def ensure_user_accounts(conn: psycopg.AsyncConnection, user_id: int) -> None:
    """Create the user's available and reserved accounts if missing (no-op otherwise)."""
    await conn.execute(
        """
        INSERT INTO ledger_accounts (key, user_id) VALUES (%s, %s), (%s, %s)
        ON CONFLICT (key) DO NOTHING
        """,
        (available_account(user_id), user_id, reserved_account(user_id), user_id),
    )


async def transfer(
    conn: psycopg.AsyncConnection,
    *,
    from_account: str,
    to_account: str,
    amount: Decimal,
    idempotency_key: str,
    kind: str,
    video_id: int | None = None,
    payout_id: int | None = None,
    snapshot_id: int | None = None,
    memo: str | None = None,
) -> bool:
    """Move ``amount`` from ``from_account`` to ``to_account`` once per ``idempotency_key``.

    Parameters:
      from_account, to_account: account keys (see the module docstring); must differ.
      amount: positive Decimal, at most two decimal places (RUB).
      idempotency_key: unique name of this movement, e.g. ``earning:snapshot:42``.
      kind: 'earning', 'reserve', 'release', 'payout' or 'adjustment'.
      video_id, payout_id, snapshot_id, memo: references kept with the transfer.

    Returns True if the transfer was made, False if the key was already used (then
    nothing changes). Raises ``InsufficientFunds`` (nothing changed) if a user account
    would go below zero, ``InvalidAmount``, ``UnknownAccount`` or ``ValueError`` on bad
    input, and ``NotInTransaction`` on an autocommit connection outside a transaction.
    """
    amount = check_amount(amount)
    if kind not in KINDS:
        raise ValueError(f"unknown transfer kind {kind!r}; use one of {sorted(KINDS)}")
    if from_account == to_account:
        raise ValueError(f"a transfer needs two different accounts, got {from_account} twice")
    if not idempotency_key:
        raise ValueError("idempotency_key must not be empty")
    if conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        raise NotInTransaction("ledger.transfer must run inside a transaction (use unit_of_work)")
    for key in (from_account, to_account):
        await _ensure_account(conn, key)

    # Lock both rows in key order: two transfers touching the same pair never deadlock.
    rows = await fetch_all(
        conn,
        "SELECT key, balance, allow_negative FROM ledger_accounts WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
        ([from_account, to_account],),
    )
    source = next(row for row in rows if row["key"] == from_account)
    if await fetch_one(conn, "SELECT 1 FROM ledger_transfers WHERE idempotency_key = %s", (idempotency_key,)):
        return False
    if not source["allow_negative"] and source["balance"] < amount:
        raise InsufficientFunds(from_account, source["balance"], amount)

    inserted = await fetch_one(
        conn,
        """
        INSERT INTO ledger_transfers
            (from_account, to_account, amount, kind, idempotency_key, video_id, payout_id, snapshot_id, memo)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id
        """,
        (from_account, to_account, amount, kind, idempotency_key, video_id, payout_id, snapshot_id, memo),
    )
    if inserted is None:
        return False
    await conn.execute(
        """
        UPDATE ledger_accounts
           SET balance = balance + CASE WHEN key = %(to)s THEN %(amount)s ELSE -%(amount)s END,
               updated_at = now()
         WHERE key IN (%(from)s, %(to)s)
        """,
        {"from": from_account, "to": to_account, "amount": amount},
    )
    return True


async def _ensure_account(conn: psycopg.AsyncConnection, key: str) -> None:
    if key in SYSTEM_ACCOUNTS:
        return
    match = _USER_KEY.match(key)
    if match is None:
        raise UnknownAccount(f"unknown ledger account {key!r}")
    await ensure_user_accounts(conn, int(match.group(1)))


async def credit_earning(
    conn: psycopg.AsyncConnection,
    *,
    user_id: int,
    amount: Decimal,
    idempotency_key: str,
    video_id: int | None = None,
    snapshot_id: int | None = None,
    memo: str | None = None,
) -> bool:
    """Credit earnings to the user's available balance (system:earnings -> available)."""
    return await transfer(
        conn,
        from_account=EARNINGS,
        to_account=available_account(user_id),
        amount=amount,
        idempotency_key=idempotency_key,
        kind="earning",
        video_id=video_id,
        snapshot_id=snapshot_id,
        memo=memo,
    )


async def reserve_for_payout(conn: psycopg.AsyncConnection, *, user_id: int, payout_id: int, amount: Decimal) -> bool:
    """Hold ``amount`` for a payout (available -> reserved); InsufficientFunds if not enough."""
    return await transfer(
        conn,
        from_account=available_account(user_id),
        to_account=reserved_account(user_id),
        amount=amount,
        idempotency_key=f"payout:{payout_id}:reserve",
        kind="reserve",
        payout_id=payout_id,
    )


async def release_reservation(conn: psycopg.AsyncConnection, *, user_id: int, payout_id: int, amount: Decimal) -> bool:
    """Give a rejected or failed payout's money back (reserved -> available)."""
    return await transfer(
        conn,
        from_account=reserved_account(user_id),
        to_account=available_account(user_id),
        amount=amount,
        idempotency_key=f"payout:{payout_id}:release",
        kind="release",
        payout_id=payout_id,
    )


async def settle_payout(conn: psycopg.AsyncConnection, *, user_id: int, payout_id: int, amount: Decimal) -> bool:
    """Record a paid payout: the money left (reserved -> system:payouts)."""
    return await transfer(
        conn,
        from_account=reserved_account(user_id),
        to_account=PAYOUTS,
        amount=amount,
        idempotency_key=f"payout:{payout_id}:settle",
        kind="payout",
        payout_id=payout_id,
    )


async def adjust(
    conn: psycopg.AsyncConnection, *, user_id: int, amount: Decimal, idempotency_key: str, memo: str
) -> bool:
    """An admin's correction of the available balance: positive credits, negative debits."""
    if not isinstance(amount, Decimal) or amount == 0:
        raise InvalidAmount(f"adjustment must be a non-zero Decimal, got {amount!r}")
    user = available_account(user_id)
    source, target = (ADJUSTMENTS, user) if amount > 0 else (user, ADJUSTMENTS)
    return await transfer(
        conn, from_account=source, to_account=target, amount=abs(amount),
        idempotency_key=idempotency_key, kind="adjustment", memo=memo,
    )


async def balances(conn: psycopg.AsyncConnection, user_id: int) -> UserBalances:
    """The user's available and reserved balances and the total paid out to them."""
    row = await fetch_one(
        conn,
        """
        SELECT
          (SELECT balance FROM ledger_accounts WHERE key = %(available)s) AS available,
          (SELECT balance FROM ledger_accounts WHERE key = %(reserved)s) AS reserved,
          (SELECT sum(amount) FROM ledger_transfers
            WHERE from_account = %(reserved)s AND to_account = %(payouts)s) AS paid_out
        """,
        {"available": available_account(user_id), "reserved": reserved_account(user_id), "payouts": PAYOUTS},
    )
    zero = Decimal("0.00")
    return UserBalances(
        available=row["available"] or zero, reserved=row["reserved"] or zero, paid_out=row["paid_out"] or zero
    )


async def history(
    conn: psycopg.AsyncConnection, user_id: int, limit: int = 20, *, before_id: int | None = None
) -> list[Transfer]:
    """The user's transfers, newest first; page with ``before_id`` (the last id seen)."""
    keys = [available_account(user_id), reserved_account(user_id)]
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM (
            SELECT * FROM ledger_transfers WHERE from_account = ANY(%(keys)s) AND id < %(before)s
            UNION
            SELECT * FROM ledger_transfers WHERE to_account = ANY(%(keys)s) AND id < %(before)s
        ) AS t
        ORDER BY id DESC
        LIMIT %(limit)s
        """,
        {"keys": keys, "before": before_id if before_id is not None else 2**63 - 1, "limit": limit},
    )
    return [Transfer(**row) for row in rows]
