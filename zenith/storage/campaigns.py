"""Campaigns: their rows, members, budget accounts and the figures admins see.

A budgeted campaign's money is the ledger account ``campaign:N:budget``: ``fund`` moves
money in from ``system:sponsors``, credits of its videos move it out (``storage.checks``),
``close`` gives what is left back to ``system:sponsors``. Lock order, the same on every
path: the video row, the campaign row, then ledger rows in key order
(``campaign:...`` before ``user:...``), so credits, funding and closing never deadlock.
Call the writing functions inside ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID, CampaignStatus, CampaignTerms
from zenith.domain.links import Platform
from zenith.storage import ledger
from zenith.storage.db import fetch_all, fetch_one, fetch_row

__all__ = [
    "DEFAULT_CAMPAIGN_ID",
    "Campaign",
    "CampaignNotFound",
    "CampaignSpend",
    "close",
    "create",
    "create_once",
    "find_by_creation_key",
    "fund",
    "get",
    "get_many",
    "join",
    "joined_open",
    "list_open",
    "lock_for_credit",
    "set_status",
    "spend",
]


class CampaignNotFound(LookupError):
    """No campaign with that id."""


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    funder: str
    rate_per_1000: Decimal | None
    min_views: int | None
    cap_per_video: Decimal | None
    platforms: list[str]
    required_tags: list[str]
    budgeted: bool
    status: CampaignStatus
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    nearly_spent_at: datetime | None = None  # when members were told little is left (migration 0195)
    # account rules (migration 0191); None: no rule
    min_account_age_days: int | None = None
    min_followers: int | None = None
    # the key of the dialogue that created it (migration 0196); None: created otherwise
    creation_key: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CampaignStatus(self.status))

    @property
    def terms(self) -> CampaignTerms:
        return CampaignTerms(
            rate_per_1000=self.rate_per_1000,
            min_views=self.min_views,
            cap_per_video=self.cap_per_video,
            platforms=frozenset(Platform(p) for p in self.platforms),
            required_tags=tuple(self.required_tags),
            min_account_age_days=self.min_account_age_days,
            min_followers=self.min_followers,
        )

    @property
    def budget_account(self) -> str | None:
        return ledger.budget_account(self.id) if self.budgeted else None


@dataclass(frozen=True)
class CampaignSpend:
    """What a campaign took in, paid and bought (for admins and the API)."""

    campaign_id: int
    funded: Decimal  # put in, minus what went back on close
    spent: Decimal  # credited to creators (held growth included, reversals excluded)
    remaining: Decimal  # still in the budget (0 for the default program)
    videos: int
    views: int


async def create(
    conn: psycopg.AsyncConnection,
    *,
    name: str,
    terms: CampaignTerms,
    funder: str = "operator",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    status: CampaignStatus = CampaignStatus.DRAFT,
) -> Campaign:
    """A new budgeted campaign (empty budget account; ``fund`` fills it)."""
    created = await _insert(
        conn, name=name, terms=terms, funder=funder, starts_at=starts_at, ends_at=ends_at, status=status, key=None
    )
    assert created is not None  # without a key nothing conflicts
    return created


async def create_once(
    conn: psycopg.AsyncConnection,
    *,
    creation_key: str,
    name: str,
    terms: CampaignTerms,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> tuple[Campaign, bool]:
    """A new draft, once per ``creation_key``: (the campaign, True), or the campaign that
    key created before and False.

    Two transactions with the same key at once: the unique index makes the second wait
    for the first; if that one commits, the second inserts nothing and reads its row (if
    it rolls back, the second inserts).
    """
    created = await _insert(
        conn,
        name=name,
        terms=terms,
        funder="operator",
        starts_at=starts_at,
        ends_at=ends_at,
        status=CampaignStatus.DRAFT,
        key=creation_key,
    )
    if created is not None:
        return created, True
    existing = await find_by_creation_key(conn, creation_key)
    if existing is None:  # READ COMMITTED: a conflict is a committed row, which this new snapshot sees
        raise CampaignNotFound(f"no campaign with creation key {creation_key!r} after a conflict on it")
    return existing, False


async def find_by_creation_key(conn: psycopg.AsyncConnection, creation_key: str) -> Campaign | None:
    row = await fetch_one(conn, "SELECT * FROM campaigns WHERE creation_key = %s", (creation_key,))
    return None if row is None else Campaign(**row)


async def _insert(
    conn: psycopg.AsyncConnection,
    *,
    name: str,
    terms: CampaignTerms,
    funder: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    status: CampaignStatus,
    key: str | None,
) -> Campaign | None:
    """The row and its empty budget account; None when ``key`` created one already."""
    row = await fetch_one(
        conn,
        """
        INSERT INTO campaigns (name, funder, rate_per_1000, min_views, cap_per_video, platforms, required_tags,
                               starts_at, ends_at, status, min_account_age_days, min_followers, creation_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (creation_key) WHERE creation_key IS NOT NULL DO NOTHING
        RETURNING *
        """,
        (
            name.strip(),
            funder,
            terms.rate_per_1000,
            terms.min_views,
            terms.cap_per_video,
            sorted(p.value for p in terms.platforms),
            list(terms.required_tags),
            starts_at,
            ends_at,
            CampaignStatus(status).value,
            terms.min_account_age_days or None,
            terms.min_followers or None,
            key,
        ),
    )
    if row is None:
        return None
    await conn.execute("INSERT INTO ledger_accounts (key, balance) VALUES (%s, 0)", (ledger.budget_account(row["id"]),))
    return Campaign(**row)


async def get(conn: psycopg.AsyncConnection, campaign_id: int, *, for_update: bool = False) -> Campaign:
    row = await fetch_one(
        conn, "SELECT * FROM campaigns WHERE id = %s" + (" FOR UPDATE" if for_update else ""), (campaign_id,)
    )
    if row is None:
        raise CampaignNotFound(f"campaign {campaign_id} not found")
    return Campaign(**row)


async def get_many(conn: psycopg.AsyncConnection, campaign_ids: set[int] | list[int]) -> dict[int, Campaign]:
    rows = await fetch_all(conn, "SELECT * FROM campaigns WHERE id = ANY(%b)", (list(campaign_ids),))
    return {row["id"]: Campaign(**row) for row in rows}


async def list_recent(conn: psycopg.AsyncConnection, *, limit: int = 20) -> list[Campaign]:
    """Every campaign, newest first, the default program included."""
    rows = await fetch_all(conn, "SELECT * FROM campaigns ORDER BY id DESC LIMIT %s", (limit,))
    return [Campaign(**row) for row in rows]


async def list_open(conn: psycopg.AsyncConnection) -> list[Campaign]:
    """Open budgeted campaigns, newest first (the default program is not listed)."""
    rows = await fetch_all(conn, "SELECT * FROM campaigns WHERE status = 'open' AND budgeted ORDER BY id DESC")
    return [Campaign(**row) for row in rows]


async def join(conn: psycopg.AsyncConnection, *, campaign_id: int, user_id: int) -> bool:
    """Add the creator to the campaign; False if they were in it already."""
    row = await fetch_one(
        conn,
        "INSERT INTO campaign_members (campaign_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (campaign_id, user_id),
    )
    return row is not None


async def joined_open(conn: psycopg.AsyncConnection, user_id: int) -> list[Campaign]:
    """The open budgeted campaigns the creator joined, oldest first."""
    rows = await fetch_all(
        conn,
        """
        SELECT c.* FROM campaigns c JOIN campaign_members m ON m.campaign_id = c.id
         WHERE m.user_id = %s AND c.status = 'open' AND c.budgeted ORDER BY c.id
        """,
        (user_id,),
    )
    return [Campaign(**row) for row in rows]


async def member_ids(conn: psycopg.AsyncConnection, campaign_id: int) -> list[int]:
    """users.id of everyone who joined the campaign."""
    rows = await fetch_all(
        conn, "SELECT user_id FROM campaign_members WHERE campaign_id = %s ORDER BY user_id", (campaign_id,)
    )
    return [row["user_id"] for row in rows]


async def is_member(conn: psycopg.AsyncConnection, *, campaign_id: int, user_id: int) -> bool:
    row = await fetch_one(
        conn, "SELECT 1 FROM campaign_members WHERE campaign_id = %s AND user_id = %s", (campaign_id, user_id)
    )
    return row is not None


async def fund(conn: psycopg.AsyncConnection, *, campaign_id: int, amount: Decimal, idempotency_key: str) -> bool:
    """Put ``amount`` into the campaign's budget (system:sponsors -> budget), once per key.

    Raises ``CampaignNotFound``, or ValueError for the default program or a closed campaign.
    """
    campaign = await get(conn, campaign_id, for_update=True)
    if not campaign.budgeted or campaign.status is CampaignStatus.CLOSED:
        raise ValueError(
            f"campaign {campaign_id} cannot be funded ({'no budget' if not campaign.budgeted else 'closed'})"
        )
    return await ledger.transfer(
        conn,
        from_account=ledger.SPONSORS,
        to_account=ledger.budget_account(campaign_id),
        amount=amount,
        idempotency_key=idempotency_key,
        kind="fund",
        memo=campaign.funder,
    )


async def set_status(conn: psycopg.AsyncConnection, *, campaign_id: int, status: CampaignStatus) -> Campaign:
    """Open or pause a campaign (closing goes through ``close``); a closed one stays closed."""
    if CampaignStatus(status) is CampaignStatus.CLOSED:
        raise ValueError("use campaigns.close to close a campaign")
    campaign = await get(conn, campaign_id, for_update=True)
    if campaign.status is CampaignStatus.CLOSED or not campaign.budgeted:
        return campaign
    row = await fetch_row(
        conn, "UPDATE campaigns SET status = %s WHERE id = %s RETURNING *", (CampaignStatus(status).value, campaign_id)
    )
    return Campaign(**row)


async def lock_for_credit(conn: psycopg.AsyncConnection, campaign_id: int) -> tuple[Campaign, Decimal | None]:
    """The campaign and what its budget holds, for a credit in this transaction.

    A budgeted campaign's row is locked (``FOR UPDATE``: credits of one campaign take
    turns, so what one reads as remaining is what is left when it commits); the default
    program is only read, so its credits never wait for each other, and has no budget
    (None).
    """
    campaign = await get(conn, campaign_id, for_update=False)
    if not campaign.budgeted:
        return campaign, None
    campaign = await get(conn, campaign_id, for_update=True)
    return campaign, await ledger.account_balance(conn, ledger.budget_account(campaign_id))


async def close(conn: psycopg.AsyncConnection, *, campaign_id: int, reason: str) -> Campaign | None:
    """Close the campaign and give what its budget holds back to system:sponsors.

    Returns the closed campaign, or None if it was closed already (then nothing moves).
    Run after the last credit in the same transaction when the budget ran out.
    """
    campaign = await get(conn, campaign_id, for_update=True)
    if campaign.status is CampaignStatus.CLOSED or not campaign.budgeted:
        return None
    await return_unspent(conn, campaign_id=campaign_id, funder=campaign.funder)
    row = await fetch_row(
        conn,
        "UPDATE campaigns SET status = 'closed', closed_at = now(), close_reason = %s WHERE id = %s RETURNING *",
        (reason, campaign_id),
    )
    return Campaign(**row)


async def return_unspent(conn: psycopg.AsyncConnection, *, campaign_id: int, funder: str) -> Decimal:
    """Move whatever the budget holds back to system:sponsors; the amount moved.

    Keyed by the budget's transfer count, so money that arrives later (a reversed hold
    of a closed campaign) is returned by its own transfer, and a replay moves nothing.
    """
    key = ledger.budget_account(campaign_id)
    left = await ledger.account_balance(conn, key)
    if left <= 0:
        return Decimal("0.00")
    count = await fetch_row(conn, "SELECT count(*) AS n FROM ledger_transfers WHERE to_account = %s", (key,))
    await ledger.transfer(
        conn,
        from_account=key,
        to_account=ledger.SPONSORS,
        amount=left,
        idempotency_key=f"campaign:{campaign_id}:return:{count['n']}",
        kind="fund_return",
        memo=funder,
    )
    return left


async def spend(conn: psycopg.AsyncConnection, campaign_id: int) -> CampaignSpend:
    """Money in, money paid, money left, videos and views of one campaign."""
    key = ledger.budget_account(campaign_id)
    row = await fetch_row(
        conn,
        """
        SELECT
          (SELECT coalesce(sum(amount) FILTER (WHERE kind = 'fund'), 0) - coalesce(sum(amount) FILTER (WHERE kind = 'fund_return'), 0)
             FROM ledger_transfers WHERE (to_account = %(key)s AND kind = 'fund') OR (from_account = %(key)s AND kind = 'fund_return')) AS funded,
          (SELECT coalesce(sum(t.amount) FILTER (WHERE t.kind IN ('earning', 'hold')), 0)
                - coalesce(sum(t.amount) FILTER (WHERE t.kind = 'hold_reverse'), 0)
             FROM ledger_transfers t JOIN videos v ON v.id = t.video_id
            WHERE v.campaign_id = %(id)s AND t.kind IN ('earning', 'hold', 'hold_reverse')) AS spent,
          (SELECT balance FROM ledger_accounts WHERE key = %(key)s) AS remaining,
          (SELECT count(*) FROM videos WHERE campaign_id = %(id)s) AS videos,
          (SELECT coalesce(sum(views), 0) FROM videos WHERE campaign_id = %(id)s) AS views
        """,
        {"key": key, "id": campaign_id},
    )
    return CampaignSpend(
        campaign_id=campaign_id,
        funded=row["funded"],
        spent=row["spent"],
        remaining=row["remaining"] or Decimal("0.00"),
        videos=row["videos"],
        views=int(row["views"]),
    )
