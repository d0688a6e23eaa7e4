"""A campaign's life cycle in the database: admins' status changes and rule edits, the
clock's openings and closings, and the notices its members get about them.

Every change takes the campaign's row lock (``FOR UPDATE``; the clock's claims skip
rows locked by someone else) and decides on the status it finds under that lock, so a
double tap, two admins, two clocks or a redelivered message change a campaign once and
stage its notices once. Notices go to everyone who joined, through the outbox, staged
in the change's transaction with one dedup key per member and event. Call the writing
functions inside ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from zenith.domain.campaign_admin import AdminAction, CloseReason, OpenRefusal, open_refusal, status_after
from zenith.domain.campaign_upcoming import never_opened
from zenith.domain.campaigns import CampaignStatus, CampaignTerms, is_nearly_spent
from zenith.storage import campaigns, ledger, outbox
from zenith.storage.db import fetch_all, fetch_one, fetch_row

__all__ = [
    "CANCELLED_NOTICE",
    "CLOSED_NOTICES",
    "StatusChange",
    "apply_action",
    "claim_ended",
    "claim_starting",
    "close_with_notices",
    "count",
    "funded",
    "list_page",
    "note_nearly_spent",
    "open_with_notices",
    "stage_member_notices",
    "update_rules",
]

# what members are told when a campaign closes, by reason (the budget's notice predates the others)
CLOSED_NOTICES = {
    CloseReason.BUDGET_SPENT: "notify.campaign.spent",
    CloseReason.ENDED: "campaigns.admin.notice_ended",
    CloseReason.ADMIN: "campaigns.admin.notice_closed",
}
# a campaign closed before it ever opened, whatever the reason: its members joined it
# while it was upcoming and are told it will not take place
CANCELLED_NOTICE = "campaigns.admin.notice_cancelled"
OPENED_NOTICE = "campaigns.admin.notice_opened"
RESUMED_NOTICE = "campaigns.admin.notice_resumed"
NEARLY_SPENT_NOTICE = "campaigns.admin.notice_nearly_spent"


async def stage_member_notices(
    conn: psycopg.AsyncConnection, *, campaign_id: int, key: str, params: dict[str, Any], event: str
) -> list[outbox.OutboxEntry]:
    """One outbox notice per member of the campaign, dedup key ``campaign:{id}:{event}:{user}``.

    One statement however many joined; members told about ``event`` before get nothing
    again (the rows staged now are returned, to publish after the commit).
    """
    rows = await fetch_all(
        conn,
        """
        INSERT INTO outbox (user_id, key, params, dedup_key)
        SELECT user_id, %(key)s, %(params)s, 'campaign:' || campaign_id || ':' || %(event)s || ':' || user_id
          FROM campaign_members WHERE campaign_id = %(id)s ORDER BY user_id
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING id, user_id, key, params, dedup_key, created_at, sent_at, relays, enqueued_at
        """,
        {"key": key, "params": Jsonb(params), "event": event, "id": campaign_id},
    )
    return [outbox.OutboxEntry(**row) for row in rows]


async def close_with_notices(
    conn: psycopg.AsyncConnection, *, campaign_id: int, reason: CloseReason
) -> tuple[campaigns.Campaign | None, list[outbox.OutboxEntry]]:
    """Close the campaign (unspent budget back to the funder) and stage the members'
    notice of ``reason`` (of its cancellation if it never opened); (None, []) if it was
    closed already, so it is told once."""
    before = await campaigns.get(conn, campaign_id, for_update=True)
    closed = await campaigns.close(conn, campaign_id=campaign_id, reason=reason.value)
    if closed is None:
        return None, []
    key = CANCELLED_NOTICE if never_opened(before.status) else CLOSED_NOTICES[reason]
    staged = await stage_member_notices(
        conn, campaign_id=campaign_id, key=key, params={"campaign": closed.name}, event="closed"
    )
    return closed, staged


async def funded(conn: psycopg.AsyncConnection, campaign_id: int) -> Decimal:
    """Money put into the budget, minus what went back to the funder."""
    row = await fetch_row(
        conn,
        """
        SELECT coalesce(sum(amount) FILTER (WHERE kind = 'fund' AND to_account = %(key)s), 0)
             - coalesce(sum(amount) FILTER (WHERE kind = 'fund_return' AND from_account = %(key)s), 0) AS funded
          FROM ledger_transfers WHERE to_account = %(key)s OR from_account = %(key)s
        """,
        {"key": ledger.budget_account(campaign_id)},
    )
    return Decimal(row["funded"])


async def note_nearly_spent(
    conn: psycopg.AsyncConnection, campaign: campaigns.Campaign, *, remaining: Decimal
) -> list[outbox.OutboxEntry]:
    """After a credit left ``remaining`` in the budget: the first time it is nearly spent
    (`domain.campaigns.is_nearly_spent`), mark the campaign and stage its members' notice.

    Call it under the campaign's row lock (the credit path holds it), so one credit
    crosses the line; a campaign already marked costs no query.
    """
    if campaign.nearly_spent_at is not None or not campaign.budgeted:
        return []
    if not is_nearly_spent(remaining=remaining, funded=await funded(conn, campaign.id)):
        return []
    marked = await fetch_one(
        conn,
        "UPDATE campaigns SET nearly_spent_at = now() WHERE id = %s AND nearly_spent_at IS NULL RETURNING id",
        (campaign.id,),
    )
    if marked is None:
        return []
    return await stage_member_notices(
        conn,
        campaign_id=campaign.id,
        key=NEARLY_SPENT_NOTICE,
        params={"campaign": campaign.name, "remaining": str(remaining)},
        event="nearly_spent",
    )


async def _set_status(conn: psycopg.AsyncConnection, *, campaign_id: int, status: CampaignStatus) -> campaigns.Campaign:
    row = await fetch_row(
        conn, "UPDATE campaigns SET status = %s WHERE id = %s RETURNING *", (status.value, campaign_id)
    )
    return campaigns.Campaign(**row)


async def open_with_notices(
    conn: psycopg.AsyncConnection, campaign: campaigns.Campaign, *, event: str
) -> tuple[campaigns.Campaign, list[outbox.OutboxEntry]]:
    """Open ``campaign`` (locked by the caller, status checked) and tell its members;
    ``event`` names this opening in their dedup keys."""
    resumed = campaign.status is CampaignStatus.PAUSED
    opened = await _set_status(conn, campaign_id=campaign.id, status=CampaignStatus.OPEN)
    staged = await stage_member_notices(
        conn,
        campaign_id=campaign.id,
        key=RESUMED_NOTICE if resumed else OPENED_NOTICE,
        params={"campaign": opened.name},
        event=event,
    )
    return opened, staged


@dataclass(frozen=True)
class StatusChange:
    """What an admin action did: the campaign as it is now, whether it changed, why it
    could not (``refusal``: a domain ``OpenRefusal``; ``stale``: the action no longer
    applies to its status), the notices staged, and what a close gave back to the funder."""

    campaign: campaigns.Campaign
    changed: bool
    refusal: OpenRefusal | None = None
    stale: bool = False
    staged: tuple[outbox.OutboxEntry, ...] = ()
    returned: Decimal = Decimal("0.00")


async def apply_action(
    conn: psycopg.AsyncConnection, *, campaign_id: int, action: AdminAction, now: datetime, event: str
) -> StatusChange:
    """Open, pause, resume or close a campaign for an admin, under its row lock.

    ``event`` names this press in the members' dedup keys (a resume after every pause
    is news again). Raises ``campaigns.CampaignNotFound``; the default program is never
    changed here (``stale``).
    """
    campaign = await campaigns.get(conn, campaign_id, for_update=True)
    target = status_after(action, campaign.status) if campaign.budgeted else None
    if target is None:
        return StatusChange(campaign=campaign, changed=False, stale=True)
    if target is CampaignStatus.CLOSED:
        left = await ledger.account_balance(conn, ledger.budget_account(campaign_id))  # what the close gives back
        closed, staged = await close_with_notices(conn, campaign_id=campaign_id, reason=CloseReason.ADMIN)
        return StatusChange(
            campaign=closed or campaign, changed=closed is not None, staged=tuple(staged), returned=left
        )
    if target is CampaignStatus.PAUSED:
        return StatusChange(campaign=await _set_status(conn, campaign_id=campaign_id, status=target), changed=True)
    remaining = await ledger.account_balance(conn, ledger.budget_account(campaign_id))
    refusal = open_refusal(remaining=remaining, ends_at=campaign.ends_at, now=now)
    if refusal is not None:
        return StatusChange(campaign=campaign, changed=False, refusal=refusal)
    opened, staged = await open_with_notices(conn, campaign, event=event)
    return StatusChange(campaign=opened, changed=True, staged=tuple(staged))


async def update_rules(
    conn: psycopg.AsyncConnection,
    *,
    campaign_id: int,
    terms: CampaignTerms,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> campaigns.Campaign | None:
    """Replace a campaign's terms and dates; None for the default program or a closed one.

    New terms apply to the next credit of each of its videos; what was credited stays.
    """
    campaign = await campaigns.get(conn, campaign_id, for_update=True)
    if not campaign.budgeted or campaign.status is CampaignStatus.CLOSED:
        return None
    row = await fetch_row(
        conn,
        """
        UPDATE campaigns SET rate_per_1000 = %s, min_views = %s, cap_per_video = %s, platforms = %s,
                             required_tags = %s, min_account_age_days = %s, min_followers = %s,
                             starts_at = %s, ends_at = %s
         WHERE id = %s RETURNING *
        """,
        (
            terms.rate_per_1000,
            terms.min_views,
            terms.cap_per_video,
            sorted(p.value for p in terms.platforms),
            list(terms.required_tags),
            terms.min_account_age_days or None,
            terms.min_followers or None,
            starts_at,
            ends_at,
            campaign_id,
        ),
    )
    return campaigns.Campaign(**row)


async def claim_ended(conn: psycopg.AsyncConnection, *, now: datetime, limit: int) -> list[int]:
    """Ids of campaigns not closed whose end date passed, locked; rows another clock holds are skipped."""
    rows = await fetch_all(
        conn,
        """
        SELECT id FROM campaigns
         WHERE status <> 'closed' AND ends_at IS NOT NULL AND ends_at <= %s AND budgeted
         ORDER BY ends_at, id LIMIT %s FOR UPDATE SKIP LOCKED
        """,
        (now, limit),
    )
    return [row["id"] for row in rows]


async def claim_starting(conn: psycopg.AsyncConnection, *, now: datetime, limit: int) -> list[campaigns.Campaign]:
    """Scheduled drafts whose start date came, not past their end, locked (``SKIP LOCKED``)."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM campaigns
         WHERE status = 'draft' AND starts_at IS NOT NULL AND starts_at <= %(now)s AND budgeted
           AND (ends_at IS NULL OR ends_at > %(now)s)
         ORDER BY starts_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        """,
        {"now": now, "limit": limit},
    )
    return [campaigns.Campaign(**row) for row in rows]


async def list_page(conn: psycopg.AsyncConnection, *, offset: int, limit: int) -> list[campaigns.Campaign]:
    """Campaigns newest first, the default program last, ``limit`` from ``offset``."""
    rows = await fetch_all(conn, "SELECT * FROM campaigns ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset))
    return [campaigns.Campaign(**row) for row in rows]


async def count(conn: psycopg.AsyncConnection) -> int:
    row = await fetch_row(conn, "SELECT count(*) AS n FROM campaigns")
    return int(row["n"])
