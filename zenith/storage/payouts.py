"""Payouts: requested -> approved -> sending -> paid | failed, or rejected.

Every status change is guarded by the status it leaves (``UPDATE ... WHERE status =
ANY(from) RETURNING``), so two workers can never both move the same payout, and it
carries its ledger transfer in the same transaction: the request reserves the amount,
rejected/failed release it back, paid settles it to ``system:payouts``. The reserved
balance therefore always equals the user's open payouts (``zenith ledger check``).
``spend_id`` is what Crypto Pay receives, so a retried transfer can never pay twice.
The steps allowed are the domain's (``zenith.domain.payouts.ALLOWED_TRANSITIONS``), and
`transition` is the one statement that changes a payout's status (tests/meta checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from zenith.domain.payouts import OPEN_STATUSES, InvalidTransition, PayoutStatus, check_transition, entered_from
from zenith.storage import ledger
from zenith.storage.db import fetch_all, fetch_one, fetch_row

# the fields a transition may set besides the status
_FIELDS = (
    "failure_reason",
    "provider_transfer_id",
    "asset_amount",
    "rate",
    "rate_fetched_at",
    "decided_by",
    "decision_reason",
)


class PayoutNotFound(LookupError):
    """No payout with that id."""


@dataclass(frozen=True)
class Payout:
    id: int
    user_id: int
    amount_rub: Decimal
    asset: str
    asset_amount: Decimal | None
    rate: Decimal | None
    rate_fetched_at: datetime | None
    status: PayoutStatus
    failure_reason: str | None
    spend_id: str
    provider_transfer_id: str | None
    request_id: str | None
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    funds_wait_since: datetime | None = None  # refused for lack of funds: waits for the wallet

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", PayoutStatus(self.status))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


async def create_requested(
    conn: psycopg.AsyncConnection,
    *,
    user_id: int,
    amount_rub: Decimal,
    asset: str,
    request_id: str | None = None,
) -> tuple[Payout, bool]:
    """Create a 'requested' payout and reserve its amount, atomically.

    Returns ``(payout, True)``, or ``(existing, False)`` when ``request_id`` was used
    before. Raises ``ledger.InsufficientFunds`` (no payout is created) when the
    available balance is short, ``ledger.InvalidAmount`` for a bad amount.
    """
    amount_rub = ledger.check_amount(amount_rub)
    if request_id is not None:
        existing = await fetch_one(conn, "SELECT * FROM payouts WHERE request_id = %s", (request_id,))
        if existing is not None:
            return Payout(**existing), False
    async with conn.transaction():  # the payout row and its reservation, or neither
        row = await fetch_one(
            conn,
            """
            WITH next AS (SELECT nextval(pg_get_serial_sequence('payouts', 'id')) AS id)
            INSERT INTO payouts (id, spend_id, user_id, amount_rub, asset, request_id)
            SELECT next.id, 'zenith-payout-' || next.id, %s, %s, %s, %s FROM next
            ON CONFLICT (request_id) DO NOTHING
            RETURNING *
            """,
            (user_id, amount_rub, asset, request_id),
        )
        if row is None:  # a concurrent request with the same request_id won
            existing = await fetch_row(conn, "SELECT * FROM payouts WHERE request_id = %s", (request_id,))
            return Payout(**existing), False
        await ledger.reserve_for_payout(conn, user_id=user_id, payout_id=row["id"], amount=amount_rub)
    return Payout(**row), True


async def get(conn: psycopg.AsyncConnection, payout_id: int) -> Payout:
    """The payout with id ``payout_id``; raise PayoutNotFound."""
    row = await fetch_one(conn, "SELECT * FROM payouts WHERE id = %s", (payout_id,))
    if row is None:
        raise PayoutNotFound(f"no payout with id {payout_id}")
    return Payout(**row)


async def transition(
    conn: psycopg.AsyncConnection,
    *,
    payout_id: int,
    to_status: PayoutStatus | str,
    from_statuses: tuple[PayoutStatus | str, ...] | None = None,
    waits_for_funds: bool = False,
    **fields: object,
) -> Payout | None:
    """Move the payout to ``to_status`` if it is in one of ``from_statuses``.

    Parameters:
      to_status: approved, rejected, sending, paid or failed (a `PayoutStatus`).
      from_statuses: statuses allowed before (default: every one the domain's state
        machine allows; a narrower tuple must be a subset, else `InvalidTransition`).
      waits_for_funds: back to 'approved' because the wallet was short: marks the payout
        waiting since now (``funds_wait_since``, see `wait_for_funds`).
      fields: columns to set with the status: failure_reason, provider_transfer_id,
        asset_amount, rate, rate_fetched_at, decided_by, decision_reason.

    Returns the updated payout, or None when it was not in an allowed status (someone
    else moved it; nothing changed). Entering 'sending' counts an attempt; 'rejected'
    and 'failed' release the reservation, 'paid' settles it, in the same transaction.
    """
    to_status = PayoutStatus(to_status)
    allowed = sorted(entered_from(to_status))
    if not allowed:
        raise InvalidTransition(None, to_status)
    if from_statuses is not None:
        for old in from_statuses:
            check_transition(old, to_status)
        allowed = [PayoutStatus(old) for old in from_statuses]
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"transition() got unknown fields: {sorted(unknown)}")
    assignments = "".join(f", {name} = %({name})s" for name in fields)
    if "decided_by" in fields:
        assignments += ", decided_at = now()"
    if to_status is PayoutStatus.SENDING:
        assignments += ", attempts = attempts + 1"
    if waits_for_funds:
        if to_status is not PayoutStatus.APPROVED:
            raise ValueError(f"only an approved payout waits for funds, not a {to_status.value} one")
        assignments += ", funds_wait_since = now()"
    async with conn.transaction():
        row = await fetch_one(
            conn,
            f"""
            UPDATE payouts SET status = %(to)s, updated_at = now(){assignments}
             WHERE id = %(id)s AND status = ANY(%(allowed)s)
            RETURNING *
            """,
            {"to": to_status.value, "id": payout_id, "allowed": [status.value for status in allowed], **fields},
        )
        if row is None:
            await get(conn, payout_id)  # PayoutNotFound for a wrong id
            return None
        payout = Payout(**row)
        if to_status in (PayoutStatus.REJECTED, PayoutStatus.FAILED):
            await ledger.release_reservation(
                conn, user_id=payout.user_id, payout_id=payout.id, amount=payout.amount_rub
            )
        elif to_status is PayoutStatus.PAID:
            await ledger.settle_payout(conn, user_id=payout.user_id, payout_id=payout.id, amount=payout.amount_rub)
    return payout


async def wait_for_funds(conn: psycopg.AsyncConnection, *, payout_id: int) -> tuple[Payout | None, bool]:
    """Put a payout refused for lack of funds back to 'approved', waiting (reservation kept).

    Returns ``(payout, first)``: the payout (None if it was not in 'sending': another
    delivery moved it) and whether no other payout of its asset was waiting already (the
    wallet just ran dry: the moment to alert the admins). An advisory lock per asset makes
    two payouts refused at once agree on which was first.
    """
    async with conn.transaction():
        current = await get(conn, payout_id)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('payout-funds:' || %s))", (current.asset,))
        others = await fetch_row(
            conn,
            "SELECT count(*) AS n FROM payouts WHERE asset = %s AND funds_wait_since IS NOT NULL AND status = 'approved' AND id <> %s",
            (current.asset, payout_id),
        )
        waiting = await transition(
            conn,
            payout_id=payout_id,
            to_status=PayoutStatus.APPROVED,
            from_statuses=(PayoutStatus.SENDING,),
            waits_for_funds=True,
        )
    return waiting, int(others["n"]) == 0


async def end_funds_wait(conn: psycopg.AsyncConnection, *, payout_id: int) -> Payout | None:
    """The wallet has funds again: the waiting payout may be sent; None if it was not waiting."""
    row = await fetch_one(
        conn,
        "UPDATE payouts SET funds_wait_since = NULL, updated_at = now() WHERE id = %s AND status = 'approved' AND funds_wait_since IS NOT NULL RETURNING *",
        (payout_id,),
    )
    return Payout(**row) if row else None


async def record_attempt(conn: psycopg.AsyncConnection, *, payout_id: int) -> Payout | None:
    """Count one more send attempt of a payout already in 'sending' (reconciliation retry)."""
    row = await fetch_one(
        conn,
        "UPDATE payouts SET attempts = attempts + 1, updated_at = now() WHERE id = %s AND status = 'sending' RETURNING *",
        (payout_id,),
    )
    return Payout(**row) if row else None


async def list_by_status(
    conn: psycopg.AsyncConnection, *, status: PayoutStatus | str, limit: int = 50, after_id: int = 0
) -> list[Payout]:
    """Payouts in ``status``, oldest first; page with ``after_id``. ValueError for an unknown status."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM payouts WHERE status = %s AND id > %s ORDER BY created_at, id LIMIT %s",
        (PayoutStatus(status).value, after_id, limit),
    )
    return [Payout(**row) for row in rows]


async def count_by_status(conn: psycopg.AsyncConnection, *, status: PayoutStatus | str) -> int:
    """How many payouts are in ``status`` (counted on the ``payouts_status_created`` index)."""
    row = await fetch_row(conn, "SELECT count(*) AS n FROM payouts WHERE status = %s", (PayoutStatus(status).value,))
    return int(row["n"])


async def list_for_user(conn: psycopg.AsyncConnection, *, user_id: int, limit: int = 10) -> list[Payout]:
    """The user's latest payouts, newest first."""
    rows = await fetch_all(
        conn, "SELECT * FROM payouts WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT %s", (user_id, limit)
    )
    return [Payout(**row) for row in rows]


async def find_stuck_sending(
    conn: psycopg.AsyncConnection, *, updated_before: datetime, limit: int = 100
) -> list[Payout]:
    """Payouts in 'sending' not touched since ``updated_before`` (reconcile them with Crypto Pay)."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM payouts WHERE status = 'sending' AND updated_at < %s ORDER BY updated_at LIMIT %s",
        (updated_before, limit),
    )
    return [Payout(**row) for row in rows]
