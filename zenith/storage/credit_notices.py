"""Throttle for credit notices: at most one per video per window, amounts adding up.

A check that credits money asks ``due_amount`` in its own transaction (the video row is
already locked by ``checks.record_check``, so two checks of one video take turns). When
no notice went out for the video within ``window`` it returns what was credited since
the last notice and records the new baseline; otherwise None, and the amount waits for
the next notice. Being in the credit's transaction, a rolled-back check neither uses
the window nor loses an amount.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from zenith.storage.db import fetch_all, fetch_one


async def due_amount(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    credited_total: Decimal,
    credited_now: Decimal,
    now: datetime,
    window: timedelta,
) -> Decimal | None:
    """The amount to announce for ``video_id`` now, or None while its window is closed.

    Parameters:
      credited_total: everything credited to the video so far, this check included.
      credited_now: what this check credited (announced alone for a video never told).
      now: the check's time; the window is measured from the last notice.
      window: at most one notice per video within it.

    Must run inside the transaction that credited ``credited_now``.
    """
    row = await fetch_one(
        conn, "SELECT notified_total, notified_at FROM credit_notices WHERE video_id = %s FOR UPDATE", (video_id,)
    )
    if row is not None and row["notified_at"] > now - window:
        return None
    baseline = row["notified_total"] if row is not None else credited_total - credited_now
    amount = credited_total - baseline
    if amount <= 0:
        return None
    await fetch_one(
        conn,
        """
        INSERT INTO credit_notices (video_id, notified_total, notified_at) VALUES (%s, %s, %s)
        ON CONFLICT (video_id) DO UPDATE SET notified_total = EXCLUDED.notified_total, notified_at = EXCLUDED.notified_at
        RETURNING video_id
        """,
        (video_id, credited_total, now),
    )
    return amount


async def due_amounts(
    conn: psycopg.AsyncConnection,
    credits: list[tuple[int, Decimal, Decimal, timedelta]],
    *,
    now: datetime,
) -> dict[int, Decimal]:
    """``due_amount`` for many videos in two statements: credits are (video_id, credited_total,
    credited_now, window); returns the amount to announce for each video whose window is open."""
    if not credits:
        return {}
    rows = await fetch_all(
        conn,
        "SELECT video_id, notified_total, notified_at FROM credit_notices WHERE video_id = ANY(%b) FOR UPDATE",
        ([video_id for video_id, *_ in credits],),
    )
    last = {row["video_id"]: row for row in rows}
    due: dict[int, tuple[Decimal, Decimal]] = {}
    for video_id, credited_total, credited_now, window in credits:
        row = last.get(video_id)
        if row is not None and row["notified_at"] > now - window:
            continue
        baseline = row["notified_total"] if row is not None else credited_total - credited_now
        if credited_total - baseline > 0:
            due[video_id] = (credited_total - baseline, credited_total)
    if due:
        await conn.execute(
            """
            INSERT INTO credit_notices (video_id, notified_total, notified_at)
            SELECT video_id, total, %s FROM unnest(%b::bigint[], %b::numeric[]) AS u(video_id, total)
            ON CONFLICT (video_id) DO UPDATE
               SET notified_total = EXCLUDED.notified_total, notified_at = EXCLUDED.notified_at
            """,
            (now, list(due), [total for _, total in due.values()]),
        )
    return {video_id: amount for video_id, (amount, _) in due.items()}
