"""Double-entry ledger: every movement of money is one transfer between two accounts.

Accounts are named by string keys:
  ``user:{user_id}:available``  earned, can be withdrawn
  ``user:{user_id}:reserved``   held for a payout in progress
  ``user:{user_id}:held``       earnings on review (doubtful growth), not withdrawable;
                                released to available or reversed (``storage.trust_holds``)
  ``system:earnings``           source of credited earnings (goes negative by what was earned)
  ``system:payouts``            money that left to Crypto Pay
  ``system:adjustments``        manual corrections by admins (may go negative)
  ``system:sponsors``           where campaign budgets come from and unspent ones return to
  ``campaign:{id}:budget``      a campaign's money: funded from system:sponsors, spent by
                                its videos' credits; like a user account it keeps a cached
                                balance that may never go below zero

A transfer moves a positive ``amount`` from one account to another under a unique
idempotency key; reusing the key is a no-op that returns False, so every retried
actor can call it again safely. Call these functions inside ``unit_of_work`` (one
transaction).

User accounts keep a cached balance in ``ledger_accounts``, changed in the same
transaction as the transfer; their rows are locked in key order so concurrent
transfers never deadlock, and a CHECK constraint refuses a negative user balance as a
last line of defence. System accounts keep no cached balance (NULL): they are one side
of every credit and settlement, and updating one row per transfer would make every
user's credit wait for every other's. Their balance is derived from their transfers
(``account_balance``); the only system account that must not go negative when debited
(``system:payouts``) is locked and summed for that rare debit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import psycopg
from psycopg import pq

from zenith.storage.db import Row, Statement, fetch_all, fetch_one, fetch_row

EARNINGS = "system:earnings"
PAYOUTS = "system:payouts"
ADJUSTMENTS = "system:adjustments"
SPONSORS = "system:sponsors"
SYSTEM_ACCOUNTS = frozenset({EARNINGS, PAYOUTS, ADJUSTMENTS, SPONSORS})
KINDS = frozenset(
    {
        "earning",
        "reserve",
        "release",
        "payout",
        "adjustment",
        "hold",
        "hold_release",
        "hold_reverse",
        "fund",
        "fund_return",
    }
)
CENT = Decimal("0.01")
_USER_KEY = re.compile(r"^user:(\d+):(available|reserved|held)$")
_BUDGET_KEY = re.compile(r"^campaign:(\d+):budget$")
# A system account's balance: what came in minus what went out (both sides indexed).
DERIVED_BALANCE_SQL = """
    SELECT round(coalesce((SELECT sum(amount) FROM ledger_transfers WHERE to_account = %(key)s), 0)
               - coalesce((SELECT sum(amount) FROM ledger_transfers WHERE from_account = %(key)s), 0), 2) AS balance
"""


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
    held: Decimal = Decimal("0.00")  # on review: earned but not withdrawable until released


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


def held_account(user_id: int) -> str:
    return f"user:{int(user_id)}:held"


def budget_account(campaign_id: int) -> str:
    return f"campaign:{int(campaign_id)}:budget"


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
        INSERT INTO ledger_accounts (key, user_id, balance) VALUES (%s, %s, 0), (%s, %s, 0)
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
      kind: 'earning', 'reserve', 'release', 'payout', 'adjustment', 'hold', 'hold_release',
        'hold_reverse', 'fund' or 'fund_return' (a campaign budget filled or given back).
      video_id, payout_id, snapshot_id, memo: references kept with the transfer.

    Returns True if the transfer was made, False if the key was already used (then
    nothing changes). Raises ``InsufficientFunds`` (nothing changed) if a user account
    (or a system account without ``allow_negative``) would go below zero, ``InvalidAmount``, ``UnknownAccount`` or ``ValueError`` on bad
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
        _check_key(key)

    accounts = await _lock_accounts(conn, from_account=from_account, to_account=to_account)
    if await fetch_one(conn, "SELECT 1 FROM ledger_transfers WHERE idempotency_key = %s", (idempotency_key,)):
        return False
    source = accounts[from_account]
    if not source["allow_negative"]:
        balance = source["balance"]
        if balance is None:  # a system account that must not go negative: derive it under its lock
            balance = await _derived_balance(conn, from_account)
        if balance < amount:
            raise InsufficientFunds(from_account, balance, amount)

    # one statement: the cached user balances move only if the transfer row went in
    inserted = await fetch_one(
        conn,
        """
        WITH inserted AS (
            INSERT INTO ledger_transfers
                (from_account, to_account, amount, kind, idempotency_key, video_id, payout_id, snapshot_id, memo)
            VALUES (%(from)s, %(to)s, %(amount)s, %(kind)s, %(key)s, %(video)s, %(payout)s, %(snapshot)s, %(memo)s)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
        ), cached AS (
            UPDATE ledger_accounts
               SET balance = balance + CASE WHEN key = %(to)s THEN %(amount)s ELSE -%(amount)s END,
                   updated_at = now()
             WHERE key = ANY(%(cached)b) AND EXISTS (SELECT 1 FROM inserted)
        )
        SELECT id FROM inserted
        """,
        {
            "from": from_account,
            "to": to_account,
            "amount": amount,
            "kind": kind,
            "key": idempotency_key,
            "video": video_id,
            "payout": payout_id,
            "snapshot": snapshot_id,
            "memo": memo,
            "cached": [key for key in (from_account, to_account) if key not in SYSTEM_ACCOUNTS],
        },
    )
    return inserted is not None


def _user_id_of(key: str) -> int:
    """The user id in a user account's key (``user:42:available`` -> 42)."""
    match = _USER_KEY.match(key)
    if match is None:
        raise UnknownAccount(f"not a user ledger account: {key!r}")
    return int(match.group(1))


async def _lock_accounts(conn: psycopg.AsyncConnection, *, from_account: str, to_account: str) -> dict[str, Row]:
    """Lock what the transfer changes and return ``{key: {balance, allow_negative}}``.

    User rows are locked in key order (two transfers on the same pair never deadlock).
    System rows are only read, never locked or updated, so credits to different users
    do not queue on ``system:earnings``; the one exception is a debit from a system
    account that must not go negative, whose row is locked after the user rows (the
    same order for every transfer) so its derived balance cannot change until commit.
    ``FOR NO KEY UPDATE`` leaves the foreign-key checks of concurrent transfers
    (``FOR KEY SHARE``) unblocked.
    """
    users = sorted(key for key in {from_account, to_account} if key not in SYSTEM_ACCOUNTS)
    systems = [key for key in (from_account, to_account) if key in SYSTEM_ACCOUNTS]
    accounts = await _select_accounts(conn, users=users, systems=systems)
    missing = [key for key in users if key not in accounts]
    if any(
        _USER_KEY.match(key) for key in missing
    ):  # a user's accounts are created with the user (held: on its first hold); this is the on-demand path
        for key in (key for key in missing if _USER_KEY.match(key)):
            user_id = _user_id_of(key)
            await ensure_user_accounts(conn, user_id)
            await conn.execute(
                "INSERT INTO ledger_accounts (key, user_id, balance) VALUES (%s, %s, 0) ON CONFLICT (key) DO NOTHING",
                (key, user_id),
            )
        accounts = await _select_accounts(conn, users=users, systems=systems)
    unknown = {from_account, to_account} - set(accounts)
    if unknown:
        raise UnknownAccount(f"ledger account(s) not found: {', '.join(sorted(unknown))}")
    if from_account in SYSTEM_ACCOUNTS and not accounts[from_account]["allow_negative"]:
        await conn.execute("SELECT 1 FROM ledger_accounts WHERE key = %s FOR NO KEY UPDATE", (from_account,))
    return accounts


async def _select_accounts(conn: psycopg.AsyncConnection, *, users: list[str], systems: list[str]) -> dict[str, Row]:
    rows = await fetch_all(
        conn,
        """
        WITH locked AS (
            SELECT key, balance, allow_negative FROM ledger_accounts
             WHERE key = ANY(%(users)b) ORDER BY key FOR NO KEY UPDATE
        )
        SELECT key, balance, allow_negative FROM locked
        UNION ALL
        SELECT key, NULL, allow_negative FROM ledger_accounts WHERE key = ANY(%(systems)b)
        """,
        {"users": users, "systems": systems},
    )
    return {row["key"]: row for row in rows}


async def _derived_balance(conn: psycopg.AsyncConnection, key: str) -> Decimal:
    row = await fetch_row(conn, DERIVED_BALANCE_SQL, {"key": key})
    balance: Decimal = row["balance"]
    return balance


async def account_balance(conn: psycopg.AsyncConnection, key: str) -> Decimal:
    """The balance of any account: a user's cached balance, a system account's sum of transfers.

    Raises ``UnknownAccount`` for a key that names no account.
    """
    if key in SYSTEM_ACCOUNTS:
        return await _derived_balance(conn, key)
    row = await fetch_one(conn, "SELECT balance FROM ledger_accounts WHERE key = %s", (key,))
    if row is None:
        raise UnknownAccount(f"unknown ledger account {key!r}")
    cached: Decimal = row["balance"]
    return cached


def _check_key(key: str) -> None:
    if key not in SYSTEM_ACCOUNTS and _USER_KEY.match(key) is None and _BUDGET_KEY.match(key) is None:
        raise UnknownAccount(f"unknown ledger account {key!r}")


async def credit_earning(
    conn: psycopg.AsyncConnection,
    *,
    user_id: int,
    amount: Decimal,
    idempotency_key: str,
    video_id: int | None = None,
    snapshot_id: int | None = None,
    memo: str | None = None,
    source: str = EARNINGS,
) -> bool:
    """Credit earnings to the user's available balance (``source`` -> available).

    ``source`` is system:earnings for the default program, the campaign's budget account
    for a budgeted campaign (``InsufficientFunds`` if the budget holds less).
    """
    return await transfer(
        conn,
        from_account=source,
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
        conn,
        from_account=source,
        to_account=target,
        amount=abs(amount),
        idempotency_key=idempotency_key,
        kind="adjustment",
        memo=memo,
    )


async def balances(conn: psycopg.AsyncConnection, user_id: int) -> UserBalances:
    """The user's available and reserved balances and the total paid out to them."""
    row = await fetch_row(
        conn,
        """
        SELECT
          (SELECT balance FROM ledger_accounts WHERE key = %(available)s) AS available,
          (SELECT balance FROM ledger_accounts WHERE key = %(reserved)s) AS reserved,
          (SELECT balance FROM ledger_accounts WHERE key = %(held)s) AS held,
          (SELECT sum(amount) FROM ledger_transfers
            WHERE from_account = %(reserved)s AND to_account = %(payouts)s) AS paid_out
        """,
        {
            "available": available_account(user_id),
            "reserved": reserved_account(user_id),
            "held": held_account(user_id),
            "payouts": PAYOUTS,
        },
    )
    zero = Decimal("0.00")
    return UserBalances(
        available=row["available"] or zero,
        reserved=row["reserved"] or zero,
        paid_out=row["paid_out"] or zero,
        held=row["held"] or zero,
    )


async def history(
    conn: psycopg.AsyncConnection, user_id: int, limit: int = 20, *, before_id: int | None = None
) -> list[Transfer]:
    """The user's transfers, newest first; page with ``before_id`` (the last id seen).

    One branch per account and side, each the newest ``limit`` transfers read backwards
    on ``ledger_transfers_from/to (account, id)``: at most 4 x ``limit`` rows are read
    however many transfers the user has. UNION drops the transfers between the user's
    own two accounts (reserve, release), which two branches both find.

    The accounts are literals, not parameters: once psycopg prepares the statement (5th
    run on a connection), PostgreSQL may plan it for any account, and for ``from_account``
    (nearly every transfer comes from a system account) it chose the primary key, walking
    every transfer by id and filtering by account: 2.4 ms at 4,000 transfers, the whole
    table for a new creator.
    """
    return history_from_rows(await fetch_all(conn, *history_statement(user_id, limit, before_id=before_id)))


def history_statement(user_id: int, limit: int = 20, *, before_id: int | None = None) -> Statement:
    """The statement `history` runs (to run it beside others: ``fetch_all_together``).

    Its values are written into the text, which has no parameters: the text differs per
    creator anyway (the accounts are literals, see `history`), so psycopg would compose and
    split it anew at every call, about half of the CPU the bot spent per statement. Every
    value is an ``int`` or an account built from one, so nothing needs quoting.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    available, reserved = f"'{available_account(user_id)}'", f"'{reserved_account(user_id)}'"
    before, rows = int(before_id) if before_id is not None else 2**63 - 1, int(limit)
    return (
        f"""
        SELECT * FROM (
            (SELECT * FROM ledger_transfers WHERE from_account = {available} AND id < {before} ORDER BY id DESC LIMIT {rows})
            UNION
            (SELECT * FROM ledger_transfers WHERE from_account = {reserved} AND id < {before} ORDER BY id DESC LIMIT {rows})
            UNION
            (SELECT * FROM ledger_transfers WHERE to_account = {available} AND id < {before} ORDER BY id DESC LIMIT {rows})
            UNION
            (SELECT * FROM ledger_transfers WHERE to_account = {reserved} AND id < {before} ORDER BY id DESC LIMIT {rows})
        ) AS t
        ORDER BY id DESC
        LIMIT {rows}
        """,
        None,
    )


def history_from_rows(rows: list[Row]) -> list[Transfer]:
    """`history` from the rows of ``history_statement``."""
    return [Transfer(**row) for row in rows]


@dataclass(frozen=True)
class TransferRequest:
    """One movement of ``transfer_many``; the same fields as ``transfer``'s arguments."""

    from_account: str
    to_account: str
    amount: Decimal
    idempotency_key: str
    kind: str
    video_id: int | None = None
    snapshot_id: int | None = None


async def transfer_many(conn: psycopg.AsyncConnection, requests: list[TransferRequest]) -> set[str]:
    """Make many transfers in three statements; returns the idempotency keys made now.

    The batch form of ``transfer`` with the same guarantees: each key moves money at most
    once (a key used before, in this batch or earlier, is skipped by ``ON CONFLICT DO
    NOTHING`` and moves no cached balance), the cached (non-system) accounts are locked in
    key order, as ``transfer`` locks them, and a source that may not go negative must hold
    the sum of what the batch takes from it (``InsufficientFunds``, nothing changed).
    Debits from a system account that must not go negative are not batched (use
    ``transfer``). Must run inside a transaction.
    """
    if not requests:
        return set()
    if conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        raise NotInTransaction("ledger.transfer_many must run inside a transaction (use unit_of_work)")
    keys = [request.idempotency_key for request in requests]
    if len(set(keys)) != len(keys) or not all(keys):
        raise ValueError("transfer_many needs distinct, non-empty idempotency keys")
    taken: dict[str, Decimal] = {}
    for request in requests:
        check_amount(request.amount)
        if request.kind not in KINDS:
            raise ValueError(f"unknown transfer kind {request.kind!r}; use one of {sorted(KINDS)}")
        if request.from_account == request.to_account:
            raise ValueError(f"a transfer needs two different accounts, got {request.from_account} twice")
        for key in (request.from_account, request.to_account):
            _check_key(key)
        taken[request.from_account] = taken.get(request.from_account, Decimal("0.00")) + request.amount
    cached = sorted({key for r in requests for key in (r.from_account, r.to_account)} - SYSTEM_ACCOUNTS)
    user_keys = [key for key in cached if _USER_KEY.match(key)]
    if user_keys:  # a user's accounts are created with the user (held: on its first hold); on-demand path
        await conn.execute(
            """
            INSERT INTO ledger_accounts (key, user_id, balance)
            SELECT key, split_part(key, ':', 2)::bigint, 0 FROM unnest(%b::text[]) AS key
            ON CONFLICT (key) DO NOTHING
            """,
            (user_keys,),
        )
    accounts = await _select_accounts(conn, users=cached, systems=sorted(set(taken) & SYSTEM_ACCOUNTS))
    unknown = set(cached) - set(accounts)
    if unknown:
        raise UnknownAccount(f"ledger account(s) not found: {', '.join(sorted(unknown))}")
    for key, amount in taken.items():
        account = accounts.get(key)
        if account is None or account["allow_negative"]:
            continue
        if account["balance"] is None:
            raise ValueError(f"{key} must not go negative: debit it with ledger.transfer")
        if account["balance"] < amount:  # may overstate: a key already used moves nothing
            raise InsufficientFunds(key, account["balance"], amount)
    rows = await fetch_all(
        conn,
        """
        WITH inserted AS (
            INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key, video_id, snapshot_id)
            SELECT * FROM unnest(%(from)b::text[], %(to)b::text[], %(amount)b::numeric[], %(kind)b::text[],
                                 %(key)b::text[], %(video)b::bigint[], %(snapshot)b::bigint[])
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key, from_account, to_account, amount
        ), moves AS (
            SELECT to_account AS key, amount FROM inserted
            UNION ALL
            SELECT from_account, -amount FROM inserted
        ), cached AS (
            UPDATE ledger_accounts a SET balance = a.balance + m.amount, updated_at = now()
              FROM (SELECT key, sum(amount) AS amount FROM moves GROUP BY key) m
             WHERE a.key = m.key AND a.key = ANY(%(cached)b)
        )
        SELECT idempotency_key FROM inserted
        """,
        {
            "from": [r.from_account for r in requests],
            "to": [r.to_account for r in requests],
            "amount": [r.amount for r in requests],
            "kind": [r.kind for r in requests],
            "key": keys,
            "video": [r.video_id for r in requests],
            "snapshot": [r.snapshot_id for r in requests],
            "cached": cached,
        },
    )
    return {row["idempotency_key"] for row in rows}
