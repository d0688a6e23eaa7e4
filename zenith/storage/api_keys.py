"""API keys: created with their scope and rate limit, found by hash, revoked.

The plaintext key exists only in the return value of ``create`` (shown once by
``zenith apikey create``); the table holds its SHA-256 (``zenith.domain.api_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.domain.api_keys import InvalidKey, Scope, hash_key, key_id_of, new_key
from zenith.storage.db import Row, fetch_all, fetch_one, fetch_row

MAX_NAME_LENGTH = 100
MAX_RATE_LIMIT_PER_MINUTE = 1_000_000
_COLUMNS = "id, key_id, name, scope, rate_limit_per_minute, created_at, revoked_at"


@dataclass(frozen=True)
class ApiKey:
    id: int
    key_id: str
    name: str
    scope: Scope
    rate_limit_per_minute: int
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _key(row: Row) -> ApiKey:
    return ApiKey(**{**row, "scope": Scope(row["scope"])})


async def create(
    conn: psycopg.AsyncConnection, *, name: str, scope: Scope | str, rate_limit_per_minute: int
) -> tuple[ApiKey, str]:
    """Store a new key; returns it and its plaintext (the only time the plaintext exists)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"the name must be 1 to {MAX_NAME_LENGTH} characters")
    if not 1 <= rate_limit_per_minute <= MAX_RATE_LIMIT_PER_MINUTE:
        raise ValueError(f"the rate limit must be 1 to {MAX_RATE_LIMIT_PER_MINUTE} requests per minute")
    plaintext = new_key()
    row = await fetch_row(
        conn,
        f"""
        INSERT INTO api_keys (key_id, key_hash, name, scope, rate_limit_per_minute)
        VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}
        """,
        (key_id_of(plaintext), hash_key(plaintext), name, Scope(scope).value, rate_limit_per_minute),
    )
    return _key(row), plaintext


async def find_active(conn: psycopg.AsyncConnection, plaintext: str) -> ApiKey | None:
    """The unrevoked key whose plaintext is ``plaintext``; None for anything else."""
    try:
        digest = hash_key(plaintext)
    except InvalidKey:
        return None
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (digest,)
    )
    return _key(row) if row else None


async def list_all(conn: psycopg.AsyncConnection) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return [_key(row) for row in await fetch_all(conn, f"SELECT {_COLUMNS} FROM api_keys ORDER BY id")]


async def revoke(conn: psycopg.AsyncConnection, *, key_id: str) -> ApiKey | None:
    """Revoke the key with public id ``key_id`` (idempotent: a revoked key keeps its date); None if unknown."""
    row = await fetch_one(
        conn,
        f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s RETURNING {_COLUMNS}",
        (key_id,),
    )
    return _key(row) if row else None
