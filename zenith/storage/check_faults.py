"""Answers about a video that did not settle it: misses, unreadable answers, quarantine.

A platform may answer "not found" (an empty ``items`` list, an item without id, a TikTok
"not found" page) for a few seconds and then answer normally again; and it may send a
value about one video that cannot be understood (a fractional count, text, "1e30"). Neither
is final on the first try:

* ``record_missing`` counts the misses in a row and when the first was; the video is
  declared gone only after ``gone_after_checks`` misses spanning ``gone_after`` (then
  the caller marks it failed and tells the creator once). Until then the next check is
  scheduled so the misses spread over that span.
* ``record_unreadable`` counts unreadable answers in a row; at ``limit`` the video is
  quarantined: stored with the raw answer and the reason (``video_quarantine``), and
  taken off the re-check queue until an admin releases it (``release``).
* ``clear`` forgets both counts once a check is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from zenith.storage.db import fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class CheckFaults:
    video_id: int
    missing_checks: int
    missing_since: datetime | None
    missing_reason: str | None
    unreadable_count: int
    updated_at: datetime


@dataclass(frozen=True)
class Miss:
    """One recorded miss: ``gone`` when the video is now declared gone; else its next check."""

    missing_checks: int
    missing_since: datetime
    gone: bool
    next_check_at: datetime | None


@dataclass(frozen=True)
class QuarantinedVideo:
    video_id: int
    platform: str
    external_id: str
    url: str
    user_id: int
    reason: str
    raw_answer: str
    attempts: int
    quarantined_at: datetime


async def get_many(conn: psycopg.AsyncConnection, video_ids: list[int]) -> dict[int, CheckFaults]:
    """The fault counts of those of ``video_ids`` that have any."""
    rows = await fetch_all(conn, "SELECT * FROM video_check_faults WHERE video_id = ANY(%b)", (list(video_ids),))
    return {row["video_id"]: CheckFaults(**row) for row in rows}


async def clear(conn: psycopg.AsyncConnection, *, video_id: int) -> bool:
    """A check of the video was stored: its misses and unreadable answers are forgotten."""
    cursor = await conn.execute("DELETE FROM video_check_faults WHERE video_id = %s", (video_id,))
    return cursor.rowcount == 1


async def record_missing(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    reason: str,
    now: datetime,
    gone_after_checks: int,
    gone_after: timedelta,
) -> Miss:
    """Count one more miss of ``video_id``; declare it gone, or schedule its next check.

    Parameters:
      reason: the platform's reason (NOT_FOUND, PRIVATE, ...), kept with the count.
      now: when the check was made.
      gone_after_checks: misses in a row needed to declare the video gone (>= 1).
      gone_after: time at least from the first of those misses to the last.

    Not gone: the video's claim is released and its next check set ``gone_after /
    (gone_after_checks - 1)`` from now (or at the end of the span once enough misses are
    counted), so the misses spread over the span. Gone: the caller marks it failed in
    the same transaction.
    """
    row = await fetch_row(
        conn,
        """
        INSERT INTO video_check_faults (video_id, missing_checks, missing_since, missing_reason, updated_at)
        VALUES (%(id)s, 1, %(now)s, %(reason)s, %(now)s)
        ON CONFLICT (video_id) DO UPDATE
           SET missing_checks = video_check_faults.missing_checks + 1,
               missing_since = coalesce(video_check_faults.missing_since, %(now)s),
               missing_reason = %(reason)s, updated_at = %(now)s
        RETURNING missing_checks, missing_since
        """,
        {"id": video_id, "now": now, "reason": reason},
    )
    count, since = int(row["missing_checks"]), row["missing_since"]
    if count >= gone_after_checks and now - since >= gone_after:
        return Miss(missing_checks=count, missing_since=since, gone=True, next_check_at=None)
    if count >= gone_after_checks:
        next_at = since + gone_after
    else:
        next_at = now + gone_after / max(1, gone_after_checks - 1)
    await conn.execute(
        "UPDATE videos SET next_check_at = %s, check_enqueued_at = NULL WHERE id = %s AND status = 'approved'",
        (next_at, video_id),
    )
    return Miss(missing_checks=count, missing_since=since, gone=False, next_check_at=next_at)


async def record_unreadable(
    conn: psycopg.AsyncConnection, *, video_id: int, reason: str, raw_answer: str, now: datetime, limit: int
) -> int | None:
    """Count one more unreadable answer about ``video_id``; quarantine it at ``limit``.

    Returns None when the video was quarantined now (the raw answer and reason stored,
    its re-checks stopped), else the count so far (the caller retries it later).
    """
    row = await fetch_row(
        conn,
        """
        INSERT INTO video_check_faults (video_id, unreadable_count, updated_at) VALUES (%(id)s, 1, %(now)s)
        ON CONFLICT (video_id) DO UPDATE
           SET unreadable_count = video_check_faults.unreadable_count + 1, updated_at = %(now)s
        RETURNING unreadable_count
        """,
        {"id": video_id, "now": now},
    )
    count = int(row["unreadable_count"])
    if count < limit:
        return count
    await conn.execute(
        """
        INSERT INTO video_quarantine (video_id, reason, raw_answer, attempts, quarantined_at)
        VALUES (%(id)s, %(reason)s, %(raw)s, %(attempts)s, %(now)s)
        ON CONFLICT (video_id) DO UPDATE
           SET reason = %(reason)s, raw_answer = %(raw)s, attempts = %(attempts)s, quarantined_at = %(now)s,
               released_at = NULL, released_by = NULL
        """,
        {"id": video_id, "reason": reason, "raw": raw_answer, "attempts": count, "now": now},
    )
    await conn.execute("UPDATE video_check_faults SET unreadable_count = 0 WHERE video_id = %s", (video_id,))
    await conn.execute("UPDATE videos SET next_check_at = NULL, check_enqueued_at = NULL WHERE id = %s", (video_id,))
    return None


async def list_quarantined(
    conn: psycopg.AsyncConnection, *, limit: int = 10, offset: int = 0
) -> list[QuarantinedVideo]:
    """Videos in quarantine (not released), newest first."""
    rows = await fetch_all(
        conn,
        """
        SELECT q.video_id, v.platform, v.external_id, v.url, v.user_id, q.reason, q.raw_answer, q.attempts, q.quarantined_at
          FROM video_quarantine q JOIN videos v ON v.id = q.video_id
         WHERE q.released_at IS NULL
         ORDER BY q.quarantined_at DESC, q.video_id DESC
         LIMIT %s OFFSET %s
        """,
        (limit, offset),
    )
    return [QuarantinedVideo(**row) for row in rows]


async def get_quarantined(conn: psycopg.AsyncConnection, *, video_id: int) -> QuarantinedVideo | None:
    """The video's open quarantine entry, or None."""
    row = await fetch_one(
        conn,
        """
        SELECT q.video_id, v.platform, v.external_id, v.url, v.user_id, q.reason, q.raw_answer, q.attempts, q.quarantined_at
          FROM video_quarantine q JOIN videos v ON v.id = q.video_id
         WHERE q.video_id = %s AND q.released_at IS NULL
        """,
        (video_id,),
    )
    return QuarantinedVideo(**row) if row else None


async def count_quarantined(conn: psycopg.AsyncConnection) -> int:
    row = await fetch_row(conn, "SELECT count(*) AS n FROM video_quarantine WHERE released_at IS NULL")
    return int(row["n"])


async def release(conn: psycopg.AsyncConnection, *, video_id: int, released_by: int | None, now: datetime) -> bool:
    """An admin takes the video out of quarantine: an approved video is due for a check at ``now``."""
    cursor = await conn.execute(
        "UPDATE video_quarantine SET released_at = %s, released_by = %s WHERE video_id = %s AND released_at IS NULL",
        (now, released_by, video_id),
    )
    if cursor.rowcount != 1:
        return False
    await conn.execute("UPDATE videos SET next_check_at = %s WHERE id = %s AND status = 'approved'", (now, video_id))
    return True
