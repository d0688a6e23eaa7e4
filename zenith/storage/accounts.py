"""Platform accounts: a creator's TikTok / YouTube account and its ownership check.

Linking an account stores it as ``pending`` with a one-time code the creator puts in
their profile or channel description; the verifying actor then marks it ``verified``
(one verified owner per account) or ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.domain.links import Platform
from zenith.storage.db import fetch_all, fetch_one, fetch_row


class AccountNotFound(LookupError):
    """No platform account with that id."""


class AccountTaken(Exception):
    """Another user already verified this platform account."""


@dataclass(frozen=True)
class PlatformAccount:
    id: int
    user_id: int
    platform: Platform
    handle: str
    external_id: str | None
    verification_code: str
    state: str
    failure_reason: str | None
    created_at: datetime
    verified_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform(self.platform))


def normalize_handle(handle: str) -> str:
    """``'@Some.Creator '`` -> ``'some.creator'``; raise ValueError if nothing is left."""
    value = handle.strip().lstrip("@").strip().lower()
    if not value:
        raise ValueError(f"empty account handle: {handle!r}")
    return value


def _platform(platform: Platform | str) -> str:
    """The stored text of ``platform``; ValueError for an unknown one."""
    return Platform(platform).value


async def create_pending(
    conn: psycopg.AsyncConnection,
    *,
    user_id: int,
    platform: Platform | str,
    handle: str,
    verification_code: str,
    external_id: str | None = None,
) -> PlatformAccount:
    """Store a pending account with ``verification_code``; linking it again refreshes the code.

    If the user already verified this account it is returned unchanged (state 'verified').
    """
    platform, handle = _platform(platform), normalize_handle(handle)
    mine = await fetch_one(
        conn,
        "SELECT * FROM platform_accounts WHERE user_id = %s AND platform = %s AND handle = %s AND state = 'verified'",
        (user_id, platform, handle),
    )
    if mine is not None:
        return PlatformAccount(**mine)
    row = await fetch_row(
        conn,
        """
        INSERT INTO platform_accounts (user_id, platform, handle, external_id, verification_code)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (user_id, platform, handle) WHERE state = 'pending'
        DO UPDATE SET verification_code = EXCLUDED.verification_code,
                      external_id = coalesce(EXCLUDED.external_id, platform_accounts.external_id),
                      created_at = now()
        RETURNING *
        """,
        (user_id, platform, handle, external_id, verification_code),
    )
    return PlatformAccount(**row)


async def get(conn: psycopg.AsyncConnection, account_id: int) -> PlatformAccount:
    """The account with id ``account_id``; raise AccountNotFound."""
    row = await fetch_one(conn, "SELECT * FROM platform_accounts WHERE id = %s", (account_id,))
    if row is None:
        raise AccountNotFound(f"no platform account with id {account_id}")
    return PlatformAccount(**row)


async def mark_verified(
    conn: psycopg.AsyncConnection, *, account_id: int, external_id: str | None = None
) -> PlatformAccount:
    """Mark a pending or failed account verified (no-op if already verified).

    Raises ``AccountTaken`` if another user verified the same account first, and
    ``AccountNotFound``. The caller's transaction stays usable after AccountTaken.
    """
    try:
        async with conn.transaction():  # a savepoint inside a unit of work
            row = await fetch_one(
                conn,
                """
                UPDATE platform_accounts
                   SET state = 'verified', verified_at = now(), failure_reason = NULL,
                       external_id = coalesce(%s, external_id)
                 WHERE id = %s AND state IN ('pending', 'failed')
                RETURNING *
                """,
                (external_id, account_id),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise AccountTaken(f"platform account {account_id} is already verified by another user") from exc
    if row is None:
        return await get(conn, account_id)
    return PlatformAccount(**row)


async def mark_failed(conn: psycopg.AsyncConnection, *, account_id: int, reason: str) -> PlatformAccount:
    """Mark a pending account failed with ``reason`` (a verified account is left as it is)."""
    row = await fetch_one(
        conn,
        "UPDATE platform_accounts SET state = 'failed', failure_reason = %s WHERE id = %s AND state = 'pending' RETURNING *",
        (reason, account_id),
    )
    if row is None:
        return await get(conn, account_id)
    return PlatformAccount(**row)


async def list_for_user(
    conn: psycopg.AsyncConnection, *, user_id: int, verified_only: bool = False
) -> list[PlatformAccount]:
    """The user's accounts, newest first (only verified ones with ``verified_only``)."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM platform_accounts
         WHERE user_id = %s AND (NOT %s OR state = 'verified')
         ORDER BY created_at DESC, id DESC
        """,
        (user_id, verified_only),
    )
    return [PlatformAccount(**row) for row in rows]


async def list_verified(conn: psycopg.AsyncConnection, *, user_id: int) -> list[PlatformAccount]:
    return await list_for_user(conn, user_id=user_id, verified_only=True)


async def find_verified(
    conn: psycopg.AsyncConnection,
    *,
    platform: Platform | str,
    handle: str | None = None,
    external_id: str | None = None,
) -> PlatformAccount | None:
    """The verified account on ``platform`` with that handle or external id (channel id)."""
    if (handle is None) == (external_id is None):
        raise ValueError("pass exactly one of handle or external_id")
    if handle is not None:
        row = await fetch_one(
            conn,
            "SELECT * FROM platform_accounts WHERE platform = %s AND handle = %s AND state = 'verified'",
            (_platform(platform), normalize_handle(handle)),
        )
    else:
        row = await fetch_one(
            conn,
            "SELECT * FROM platform_accounts WHERE platform = %s AND external_id = %s AND state = 'verified'",
            (_platform(platform), external_id),
        )
    return PlatformAccount(**row) if row else None
