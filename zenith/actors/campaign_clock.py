"""The clock's campaign duty: close campaigns whose end date passed, open scheduled ones.

A campaign not closed whose ``ends_at`` passed is closed (reason "end date"): its
unspent budget goes back to the funder through the ledger and its members are told. A
draft with a ``starts_at`` that came is opened if its budget holds money (else it waits
as a draft for funding) and its members are told. Each campaign is claimed ``FOR UPDATE
SKIP LOCKED`` and changed in its own transaction with its notices, so two clocks, or a
tick that died halfway and runs again, change each campaign once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from zenith.actors import notice_outbox
from zenith.actors.runtime import Runtime
from zenith.domain.campaign_admin import CloseReason, due_to_open
from zenith.storage import campaign_life, ledger
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

MAX_PER_TICK = 50  # campaigns opened or closed per tick at most; the rest are due again next tick


async def close_ended_campaigns(runtime: Runtime, now: datetime) -> int:
    """Close the campaigns whose end date passed; returns how many."""
    pool = await runtime.db()
    closed = 0
    for _ in range(MAX_PER_TICK):
        async with unit_of_work(pool) as conn:
            ids = await campaign_life.claim_ended(conn, now=now, limit=1)
            if not ids:
                break
            campaign, staged = await campaign_life.close_with_notices(
                conn, campaign_id=ids[0], reason=CloseReason.ENDED
            )
        await notice_outbox.publish(runtime, staged)
        if campaign is not None:
            closed += 1
            logger.info("campaign %s closed: its end date passed", campaign.id)
    return closed


async def open_started_campaigns(runtime: Runtime, now: datetime) -> int:
    """Open the scheduled drafts whose start date came and that hold money; returns how many."""
    pool = await runtime.db()
    opened = 0
    async with unit_of_work(pool) as conn:
        due = await campaign_life.claim_starting(conn, now=now, limit=MAX_PER_TICK)
        staged = []
        for campaign in due:
            remaining = await ledger.account_balance(conn, ledger.budget_account(campaign.id))
            if not due_to_open(
                status=campaign.status,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                remaining=remaining,
                now=now,
            ):
                continue  # not funded yet: it opens on the first tick after its funding
            _, notices = await campaign_life.open_with_notices(conn, campaign, event="opened")
            staged.extend(notices)
            opened += 1
            logger.info("campaign %s opened: its start date came", campaign.id)
    await notice_outbox.publish(runtime, staged)
    return opened


async def run_campaign_life(runtime: Runtime, now: datetime) -> int:
    """Both halves of the duty, closings first (a campaign past its end never opens)."""
    return await close_ended_campaigns(runtime, now) + await open_started_campaigns(runtime, now)
