"""Trust signals: what was noticed about a creator's videos, with the numbers behind it.

A signal is recorded once per ``dedup_key`` (a redelivered message changes nothing). It
stays ``open`` until an admin decides the hold it belongs to: ``cleared`` when the held
growth is released, ``confirmed`` when it is reversed. Open signals of the last
``window`` and the creator's rejected items make the risk score (domain.trust.risk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from zenith.domain.trust import RiskRules, RiskScore, Signal, risk_score
from zenith.storage.db import fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class StoredSignal:
    id: int
    user_id: int
    video_id: int | None
    snapshot_id: int | None
    hold_id: int | None
    kind: str
    evidence: dict[str, Any]
    state: str
    dedup_key: str
    created_at: datetime


async def record(
    conn: psycopg.AsyncConnection,
    signal: Signal,
    *,
    user_id: int,
    dedup_key: str,
    video_id: int | None = None,
    snapshot_id: int | None = None,
    hold_id: int | None = None,
) -> StoredSignal | None:
    """Store ``signal`` once per ``dedup_key``; None if it was stored before."""
    row = await fetch_one(
        conn,
        """
        INSERT INTO trust_signals (user_id, video_id, snapshot_id, hold_id, kind, evidence, dedup_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (dedup_key) DO NOTHING RETURNING *
        """,
        (user_id, video_id, snapshot_id, hold_id, signal.kind.value, Jsonb(signal.evidence), dedup_key),
    )
    return StoredSignal(**row) if row else None


async def for_hold(conn: psycopg.AsyncConnection, hold_id: int) -> list[StoredSignal]:
    rows = await fetch_all(conn, "SELECT * FROM trust_signals WHERE hold_id = %s ORDER BY id", (hold_id,))
    return [StoredSignal(**row) for row in rows]


async def recent_for_user(conn: psycopg.AsyncConnection, user_id: int, *, limit: int = 10) -> list[StoredSignal]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM trust_signals WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
        (user_id, limit),
    )
    return [StoredSignal(**row) for row in rows]


async def settle_for_hold(conn: psycopg.AsyncConnection, *, hold_id: int, state: str) -> None:
    """Close the open signals of a decided hold: 'cleared' (released) or 'confirmed' (reversed)."""
    if state not in ("cleared", "confirmed"):
        raise ValueError(f"a decided signal is cleared or confirmed, not {state!r}")
    await conn.execute("UPDATE trust_signals SET state = %s WHERE hold_id = %s AND state = 'open'", (state, hold_id))


async def creator_risk(
    conn: psycopg.AsyncConnection, user_id: int, *, rules: RiskRules, window: timedelta
) -> RiskScore:
    """The creator's risk now: open signals of the last ``window`` by kind, and rejected items
    (held growth reversed, videos rejected by moderation) of all time."""
    rows = await fetch_all(
        conn,
        """
        SELECT kind, count(*) AS n FROM trust_signals
         WHERE user_id = %s AND state = 'open' AND created_at > now() - %s
         GROUP BY kind
        """,
        (user_id, window),
    )
    rejected = await fetch_row(
        conn,
        """
        SELECT (SELECT count(*) FROM trust_holds WHERE user_id = %(user)s AND status = 'reversed')
             + (SELECT count(*) FROM videos WHERE user_id = %(user)s AND status = 'rejected') AS n
        """,
        {"user": user_id},
    )
    return risk_score(open_signals={row["kind"]: row["n"] for row in rows}, rejected_items=rejected["n"], rules=rules)
