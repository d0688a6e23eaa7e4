"""Submissions: every link the product acknowledged, from "received" to its outcome.

The bot (or any intake) stores a row with ``receive`` in the transaction that decides
its answer, so an "accepted" reply always has a row behind it; the ``submit_video``
message that follows is only a wake-up. The submission actor ends the row (``finish``:
stored, refused or failed) in the transaction of its outcome, and moves ``wake_at``
when it re-sends itself for later (``postpone``). The clock re-sends rows still
'received' whose ``wake_at`` is overdue (``claim_overdue``), so a message the broker
lost costs a delay, never the submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.domain.submissions import FINISHED, SubmissionStatus
from zenith.storage.db import Row, fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class Submission:
    id: int
    request_id: str
    user_id: int
    url: str
    platform: str
    status: SubmissionStatus
    outcome: str | None
    received_at: datetime
    wake_at: datetime
    resends: int
    finished_at: datetime | None
    campaign_id: int | None = None  # picked by the creator; None: the actor decides


async def receive(
    conn: psycopg.AsyncConnection,
    *,
    request_id: str,
    user_id: int,
    url: str,
    platform: str,
    campaign_id: int | None = None,
) -> tuple[Submission, bool]:
    """Store a received link once per ``request_id``; ``(row, True)`` if stored now,
    ``(existing row, False)`` when the same request was received before (a redelivered update).

    ``campaign_id`` is the campaign the creator picked (kept for a re-send), None if none.
    """
    row = await fetch_one(
        conn,
        """
        INSERT INTO submissions (request_id, user_id, url, platform, campaign_id) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (request_id) DO NOTHING
        RETURNING *
        """,
        (request_id, user_id, url, platform, campaign_id),
    )
    if row is not None:
        return _submission(row), True
    existing = await fetch_one(conn, "SELECT * FROM submissions WHERE request_id = %s", (request_id,))
    if existing is None:  # the conflicting row's transaction rolled back meanwhile
        return await receive(
            conn, request_id=request_id, user_id=user_id, url=url, platform=platform, campaign_id=campaign_id
        )
    return _submission(existing), False


def _submission(row: Row) -> Submission:
    return Submission(**{**row, "status": SubmissionStatus(row["status"])})


async def get(conn: psycopg.AsyncConnection, *, request_id: str) -> Submission | None:
    row = await fetch_one(conn, "SELECT * FROM submissions WHERE request_id = %s", (request_id,))
    return _submission(row) if row else None


async def finish(
    conn: psycopg.AsyncConnection, *, request_id: str, status: SubmissionStatus, outcome: str | None = None
) -> bool:
    """End a 'received' submission as stored / refused / failed; False if it was not
    waiting (already finished, or sent without a row)."""
    if status not in FINISHED:
        raise ValueError(f"a submission finishes as one of {[s.value for s in FINISHED]}, not {status!r}")
    cursor = await conn.execute(
        """
        UPDATE submissions SET status = %s, outcome = %s, finished_at = now()
         WHERE request_id = %s AND status = 'received'
        """,
        (SubmissionStatus(status).value, outcome, request_id),
    )
    return cursor.rowcount == 1


async def postpone(conn: psycopg.AsyncConnection, *, request_id: str, until: datetime) -> bool:
    """The submission's next wake-up is due at ``until`` (a delayed re-send): the clock waits for it."""
    cursor = await conn.execute(
        "UPDATE submissions SET wake_at = %s WHERE request_id = %s AND status = 'received'", (until, request_id)
    )
    return cursor.rowcount == 1


async def claim_overdue(
    conn: psycopg.AsyncConnection, *, now: datetime, overdue_before: datetime, limit: int
) -> list[Submission]:
    """'received' rows whose wake-up was due before ``overdue_before``, locked
    (``FOR UPDATE SKIP LOCKED``: two clocks never claim the same row), marked woken at ``now``.

    Run it in a unit of work; the caller re-sends each (or gives up on it) in the same one.
    """
    rows = await fetch_all(
        conn,
        """
        WITH overdue AS (
            SELECT id FROM submissions
             WHERE status = 'received' AND wake_at < %(before)s
             ORDER BY wake_at
             LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED
        )
        UPDATE submissions s SET wake_at = %(now)s, resends = s.resends + 1 FROM overdue WHERE s.id = overdue.id
        RETURNING s.*
        """,
        {"now": now, "before": overdue_before, "limit": limit},
    )
    return sorted((_submission(row) for row in rows), key=lambda s: s.id)


async def count_waiting(conn: psycopg.AsyncConnection) -> int:
    """Submissions received and not finished yet."""
    row = await fetch_row(conn, "SELECT count(*) AS n FROM submissions WHERE status = 'received'")
    return int(row["n"])
