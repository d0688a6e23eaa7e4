"""A campaign's account rules are stored with it (migration 0191), carried by its terms,
and replaced by an admin's rule edit like the other terms."""

from __future__ import annotations

import uuid

from zenith.domain.campaigns import CampaignTerms
from zenith.storage import campaign_life, campaigns
from zenith.storage.db import unit_of_work


async def test_account_rules_are_stored_read_and_edited(pool):
    async with unit_of_work(pool) as conn:
        created = await campaigns.create(
            conn,
            name=f"Rules {uuid.uuid4().hex[:6]}",
            terms=CampaignTerms(min_account_age_days=30, min_followers=1_000),
        )
        read = await campaigns.get(conn, created.id)
        edited = await campaign_life.update_rules(
            conn, campaign_id=created.id, terms=CampaignTerms(min_followers=50), starts_at=None, ends_at=None
        )
        plain = await campaigns.create(conn, name=f"Plain {uuid.uuid4().hex[:6]}", terms=CampaignTerms())
    assert (read.terms.min_account_age_days, read.terms.min_followers) == (30, 1_000)
    assert (edited.min_account_age_days, edited.min_followers) == (None, 50)
    assert (plain.min_account_age_days, plain.min_followers) == (None, None)
