"""Audit log: who among the admins did what to which video, payout or user, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from zenith.storage.db import fetch_all, fetch_row

SYSTEM_ADMIN_ID = 0  # actions taken automatically (auto-approval, auto-payout)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    admin_id: int
    action: str
    target_type: str
    target_id: str
    reason: str | None
    details: dict[str, Any] | None
    at: datetime


async def record(
    conn: psycopg.AsyncConnection,
    *,
    admin_id: int,
    action: str,
    target_type: str,
    target_id: int | str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry (call it in the same transaction as the action it records).

    Parameters:
      admin_id: Telegram id of the admin, ``SYSTEM_ADMIN_ID`` for automatic actions.
      action: e.g. 'video.approve', 'payout.reject', 'user.ban'.
      target_type, target_id: what was acted on ('video', 42).
      reason, details: free text and JSON-able extra facts.
    """
    row = await fetch_row(
        conn,
        """
        INSERT INTO audit_log (admin_id, action, target_type, target_id, reason, details)
        VALUES (%s, %s, %s, %s, %s, %s) RETURNING *
        """,
        (admin_id, action, target_type, str(target_id), reason, Jsonb(details) if details is not None else None),
    )
    return AuditEntry(**row)


async def list_for_target(
    conn: psycopg.AsyncConnection, *, target_type: str, target_id: int | str, limit: int = 50
) -> list[AuditEntry]:
    """Entries about one target, newest first."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM audit_log WHERE target_type = %s AND target_id = %s ORDER BY at DESC, id DESC LIMIT %s",
        (target_type, str(target_id), limit),
    )
    return [AuditEntry(**row) for row in rows]


async def recent(conn: psycopg.AsyncConnection, *, limit: int = 50, admin_id: int | None = None) -> list[AuditEntry]:
    """The latest entries, newest first, optionally of one admin."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM audit_log WHERE (%(admin)s::bigint IS NULL OR admin_id = %(admin)s)
         ORDER BY at DESC, id DESC LIMIT %(limit)s
        """,
        {"admin": admin_id, "limit": limit},
    )
    return [AuditEntry(**row) for row in rows]
