"""Held earnings: doubtful growth waits in ``user:N:held`` for a decision.

``hold_earning`` credits the growth of one snapshot to the held account (system:earnings
-> held) and opens a hold; ``decide`` releases it (held -> available) or reverses it
(held -> system:earnings), closes its signals and writes the audit entry. Every movement
is one ledger transfer under a key named after the snapshot or the hold, and a hold is
decided once under its row lock, so a redelivered message or a double tap moves nothing
twice. Call these inside ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from zenith.domain.campaigns import CampaignStatus
from zenith.domain.trust import GrowthPoint
from zenith.storage import audit, campaigns, ledger, trust_signals
from zenith.storage.db import fetch_all, fetch_one, fetch_row

RELEASE = "release"
REVERSE = "reverse"


@dataclass(frozen=True)
class Hold:
    id: int
    user_id: int
    video_id: int
    snapshot_id: int
    amount: Decimal
    views_before: int
    views_now: int
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    decision_reason: str | None


async def hold_earning(
    conn: psycopg.AsyncConnection,
    *,
    user_id: int,
    video_id: int,
    snapshot_id: int,
    amount: Decimal,
    views_before: int,
    views_now: int,
    source: str = ledger.EARNINGS,
) -> Hold:
    """Credit ``amount`` to the creator's held account and open a hold for it (once per snapshot).

    ``source`` is where the money comes from: system:earnings, or the budget of the
    video's campaign (a reversal gives it back there).
    """
    row = await fetch_one(
        conn,
        """
        INSERT INTO trust_holds (user_id, video_id, snapshot_id, amount, views_before, views_now)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (snapshot_id) DO NOTHING RETURNING *
        """,
        (user_id, video_id, snapshot_id, ledger.check_amount(amount), views_before, views_now),
    )
    if row is None:
        row = await fetch_row(conn, "SELECT * FROM trust_holds WHERE snapshot_id = %s", (snapshot_id,))
    await ledger.transfer(
        conn,
        from_account=source,
        to_account=ledger.held_account(user_id),
        amount=amount,
        idempotency_key=f"hold:snapshot:{snapshot_id}",
        kind="hold",
        video_id=video_id,
        snapshot_id=snapshot_id,
    )
    return Hold(**row)


async def get(conn: psycopg.AsyncConnection, hold_id: int, *, for_update: bool = False) -> Hold | None:
    row = await fetch_one(
        conn, "SELECT * FROM trust_holds WHERE id = %s" + (" FOR UPDATE" if for_update else ""), (hold_id,)
    )
    return Hold(**row) if row else None


async def decide(
    conn: psycopg.AsyncConnection, *, hold_id: int, decision: str, admin_id: int, reason: str | None = None
) -> Hold | None:
    """Release or reverse one hold; None if it was decided already (nothing moves then).

    Parameters:
      decision: RELEASE (held -> available) or REVERSE (held -> system:earnings).
      admin_id: Telegram id of the admin, ``audit.SYSTEM_ADMIN_ID`` for the quiet-period release.
      reason: told to the creator on a reversal; kept in the hold and the audit log.
    """
    if decision not in (RELEASE, REVERSE):
        raise ValueError(f"a hold is released or reversed, not {decision!r}")
    hold = await get(conn, hold_id, for_update=True)
    if hold is None or hold.status != "held":
        return None
    held = ledger.held_account(hold.user_id)
    source = await fetch_one(
        conn,
        "SELECT from_account FROM ledger_transfers WHERE idempotency_key = %s",
        (f"hold:snapshot:{hold.snapshot_id}",),
    )
    # a reversal gives the money back where it came from: system:earnings or the campaign's budget
    target = (
        ledger.available_account(hold.user_id)
        if decision == RELEASE
        else (source["from_account"] if source else ledger.EARNINGS)
    )
    campaign = await _budget_campaign(conn, target)
    await ledger.transfer(
        conn,
        from_account=held,
        to_account=target,
        amount=hold.amount,
        idempotency_key=f"hold:{hold.id}:{decision}",
        kind=f"hold_{decision}",
        video_id=hold.video_id,
        snapshot_id=hold.snapshot_id,
        memo=reason,
    )
    if campaign is not None and campaign.status is CampaignStatus.CLOSED:  # returned to its funder too
        await campaigns.return_unspent(conn, campaign_id=campaign.id, funder=campaign.funder)
    row = await fetch_row(
        conn,
        """
        UPDATE trust_holds SET status = %s, decided_at = now(), decided_by = %s, decision_reason = %s
         WHERE id = %s RETURNING *
        """,
        ("released" if decision == RELEASE else "reversed", admin_id, reason, hold.id),
    )
    await trust_signals.settle_for_hold(conn, hold_id=hold.id, state="cleared" if decision == RELEASE else "confirmed")
    await audit.record(
        conn,
        admin_id=admin_id,
        action=f"hold.{decision}",
        target_type="hold",
        target_id=hold.id,
        reason=reason,
        details={
            "user_id": hold.user_id,
            "video_id": hold.video_id,
            "amount": str(hold.amount),
            "views_before": hold.views_before,
            "views_now": hold.views_now,
        },
    )
    return Hold(**row)


async def _budget_campaign(conn: psycopg.AsyncConnection, account: str) -> campaigns.Campaign | None:
    """The campaign whose budget ``account`` is, locked (before the ledger rows, the order
    every credit takes), or None for any other account."""
    if not account.startswith("campaign:"):
        return None
    return await campaigns.get(conn, int(account.split(":")[1]), for_update=True)


async def open_for_user(conn: psycopg.AsyncConnection, user_id: int) -> list[Hold]:
    rows = await fetch_all(
        conn, "SELECT * FROM trust_holds WHERE user_id = %s AND status = 'held' ORDER BY created_at, id", (user_id,)
    )
    return [Hold(**row) for row in rows]


async def oldest_open(conn: psycopg.AsyncConnection, *, limit: int) -> list[Hold]:
    """The review queue: the ``limit`` oldest holds waiting for a decision."""
    rows = await fetch_all(
        conn, "SELECT * FROM trust_holds WHERE status = 'held' ORDER BY created_at, id LIMIT %s", (limit,)
    )
    return [Hold(**row) for row in rows]


async def count_open(conn: psycopg.AsyncConnection) -> int:
    row = await fetch_row(conn, "SELECT count(*) AS n FROM trust_holds WHERE status = 'held'")
    return int(row["n"])


@dataclass(frozen=True)
class CreatorHistory:
    """What an admin weighs besides the hold: the creator's other holds and rejections."""

    open_holds: int
    open_amount: Decimal
    released: int
    reversed: int
    rejected_videos: int


async def creator_history(conn: psycopg.AsyncConnection, user_id: int) -> CreatorHistory:
    row = await fetch_row(
        conn,
        """
        SELECT count(*) FILTER (WHERE status = 'held') AS open_holds,
               coalesce(sum(amount) FILTER (WHERE status = 'held'), 0) AS open_amount,
               count(*) FILTER (WHERE status = 'released') AS released,
               count(*) FILTER (WHERE status = 'reversed') AS reversed,
               (SELECT count(*) FROM videos WHERE user_id = %(user)s AND status = 'rejected') AS rejected_videos
          FROM trust_holds WHERE user_id = %(user)s
        """,
        {"user": user_id},
    )
    return CreatorHistory(**row)


async def quiet_ones(conn: psycopg.AsyncConnection, *, held_before: datetime, limit: int = 100) -> list[int]:
    """Holds made before ``held_before`` whose creator had no new signal since (other than
    the hold's own): released automatically. Locked rows are skipped (another clock or an
    admin has them)."""
    rows = await fetch_all(
        conn,
        """
        SELECT h.id FROM trust_holds h
         WHERE h.status = 'held' AND h.created_at < %(before)s
           AND NOT EXISTS (
               SELECT 1 FROM trust_signals s
                WHERE s.user_id = h.user_id AND s.created_at > h.created_at
                  AND s.kind <> 'implausible' AND s.hold_id IS DISTINCT FROM h.id)
         ORDER BY h.created_at, h.id LIMIT %(limit)s
         FOR UPDATE OF h SKIP LOCKED
        """,
        {"before": held_before, "limit": limit},
    )
    return [row["id"] for row in rows]


async def video_history(conn: psycopg.AsyncConnection, video_id: int, *, limit: int = 200) -> list[GrowthPoint]:
    """The video's latest snapshots, oldest first, each marked if the growth ending at it was
    held, and if it was held as a spike."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM (
            SELECT s.taken_at, s.views, s.likes, h.id IS NOT NULL AS held,
                   EXISTS (SELECT 1 FROM trust_signals g WHERE g.snapshot_id = s.id AND g.kind = 'spike') AS spike
              FROM view_snapshots s LEFT JOIN trust_holds h ON h.snapshot_id = s.id
             WHERE s.video_id = %s ORDER BY s.taken_at DESC LIMIT %s
        ) latest ORDER BY taken_at
        """,
        (video_id, limit),
    )
    return [
        GrowthPoint(taken_at=r["taken_at"], views=r["views"], likes=r["likes"], held=r["held"], spike=r["spike"])
        for r in rows
    ]


async def creator_peak_per_hour(
    conn: psycopg.AsyncConnection, *, user_id: int, except_video_id: int, since: timedelta, min_hours: float
) -> float:
    """The fastest growth (views/h) of the creator's other videos over ``since``, held intervals excluded."""
    row = await fetch_row(
        conn,
        """
        SELECT max((views - prev_views) / greatest(extract(epoch FROM taken_at - prev_at) / 3600, %(min_hours)s)) AS peak
          FROM (
            SELECT s.id, s.views, s.taken_at,
                   lag(s.views) OVER w AS prev_views, lag(s.taken_at) OVER w AS prev_at
              FROM view_snapshots s JOIN videos v ON v.id = s.video_id
             WHERE v.user_id = %(user)s AND v.id <> %(video)s AND s.taken_at > now() - %(since)s
            WINDOW w AS (PARTITION BY s.video_id ORDER BY s.taken_at)
          ) steps
         WHERE prev_views IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM trust_holds h WHERE h.snapshot_id = steps.id)
        """,
        {"user": user_id, "video": except_video_id, "since": since, "min_hours": min_hours},
    )
    return float(row["peak"] or 0)


async def video_histories(
    conn: psycopg.AsyncConnection, video_ids: list[int], *, limit: int = 200
) -> dict[int, list[GrowthPoint]]:
    """``video_history`` of many videos in one statement; videos without snapshots are left out."""
    rows = await fetch_all(
        conn,
        """
        SELECT latest.* FROM unnest(%b::bigint[]) AS v(id) CROSS JOIN LATERAL (
            SELECT s.video_id, s.taken_at, s.views, s.likes, h.id IS NOT NULL AS held,
                   EXISTS (SELECT 1 FROM trust_signals g WHERE g.snapshot_id = s.id AND g.kind = 'spike') AS spike
              FROM view_snapshots s LEFT JOIN trust_holds h ON h.snapshot_id = s.id
             WHERE s.video_id = v.id ORDER BY s.taken_at DESC LIMIT %s
        ) latest ORDER BY latest.video_id, latest.taken_at
        """,
        (list(video_ids), limit),
    )
    histories: dict[int, list[GrowthPoint]] = {}
    for r in rows:
        histories.setdefault(r["video_id"], []).append(
            GrowthPoint(taken_at=r["taken_at"], views=r["views"], likes=r["likes"], held=r["held"], spike=r["spike"])
        )
    return histories


@dataclass(frozen=True)
class NewHold:
    """One hold of ``open_many``: the arguments of ``hold_earning``."""

    user_id: int
    video_id: int
    snapshot_id: int
    amount: Decimal
    views_before: int
    views_now: int
    source: str


def hold_transfer(hold: NewHold) -> ledger.TransferRequest:
    """The ledger movement of a hold (source -> held), keyed by its snapshot as ``hold_earning`` keys it."""
    return ledger.TransferRequest(
        from_account=hold.source,
        to_account=ledger.held_account(hold.user_id),
        amount=hold.amount,
        idempotency_key=f"hold:snapshot:{hold.snapshot_id}",
        kind="hold",
        video_id=hold.video_id,
        snapshot_id=hold.snapshot_id,
    )


async def open_many(conn: psycopg.AsyncConnection, holds: list[NewHold]) -> dict[int, Hold]:
    """The hold rows of ``holds`` (once per snapshot), by snapshot id; the caller moves the money
    with ``hold_transfer`` in the same transaction (``ledger.transfer_many``)."""
    if not holds:
        return {}
    await conn.execute(
        """
        INSERT INTO trust_holds (user_id, video_id, snapshot_id, amount, views_before, views_now)
        SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::numeric[], %b::bigint[], %b::bigint[])
        ON CONFLICT (snapshot_id) DO NOTHING
        """,
        (
            [h.user_id for h in holds],
            [h.video_id for h in holds],
            [h.snapshot_id for h in holds],
            [ledger.check_amount(h.amount) for h in holds],
            [h.views_before for h in holds],
            [h.views_now for h in holds],
        ),
    )
    rows = await fetch_all(
        conn, "SELECT * FROM trust_holds WHERE snapshot_id = ANY(%b)", ([h.snapshot_id for h in holds],)
    )
    return {row["snapshot_id"]: Hold(**row) for row in rows}


async def peaks_per_video(
    conn: psycopg.AsyncConnection, *, user_ids: list[int], since: timedelta, min_hours: float
) -> dict[int, dict[int, float]]:
    """For ``creator_peak_per_hour`` of many videos in one statement: ``{user_id: {video_id:
    fastest growth (views/h) of that video over since}}``, held intervals excluded; a video's
    creator peak is the largest of the creator's other videos."""
    rows = await fetch_all(
        conn,
        """
        SELECT user_id, video_id,
               max((views - prev_views) / greatest(extract(epoch FROM taken_at - prev_at) / 3600, %(min_hours)s)) AS peak
          FROM (
            SELECT v.user_id, s.id, s.video_id, s.views, s.taken_at,
                   lag(s.views) OVER w AS prev_views, lag(s.taken_at) OVER w AS prev_at
              FROM view_snapshots s JOIN videos v ON v.id = s.video_id
             WHERE v.user_id = ANY(%(users)b) AND s.taken_at > now() - %(since)s
            WINDOW w AS (PARTITION BY s.video_id ORDER BY s.taken_at)
          ) steps
         WHERE prev_views IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM trust_holds h WHERE h.snapshot_id = steps.id)
         GROUP BY user_id, video_id
        """,
        {"users": sorted(set(user_ids)), "since": since, "min_hours": min_hours},
    )
    peaks: dict[int, dict[int, float]] = {}
    for row in rows:
        peaks.setdefault(row["user_id"], {})[row["video_id"]] = float(row["peak"] or 0)
    return peaks
