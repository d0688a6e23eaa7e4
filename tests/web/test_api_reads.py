"""What the API reads: a creator's stats across credits and a payout, their payouts and
videos, and the admin queues, each checked against what the ledger and tables hold.

Stats are read through the creators' cache; the bot's tests (tests/bot/test_cached_stats.py)
drive the same cache through the real write paths and their invalidation."""

from __future__ import annotations

import dataclasses
import time
import uuid
from decimal import Decimal

import psycopg
from redis.asyncio import Redis

from zenith.domain.api_keys import Scope
from zenith.storage import ledger, payouts, videos
from zenith.storage.creator_reads import CreatorReads
from zenith.storage.db import unit_of_work


async def _get(api, key: str, path: str) -> dict:
    async with api.client.get(api.base + path, headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _credit(pool, user_id: int, amount: str) -> None:
    async with unit_of_work(pool) as conn:
        await ledger.credit_earning(conn, user_id=user_id, amount=Decimal(amount), idempotency_key=uuid.uuid4().hex)


async def _committed(api_settings, pool, user_id: int) -> None:
    """What every production write path does after its commit (the actors, the bot): invalidate
    the creator's cached stats. These tests write through storage directly, so they do it here."""
    redis = Redis.from_url(api_settings.redis_url)
    try:
        assert await CreatorReads(pool=pool, redis=redis, prefix=f"{api_settings.redis_namespace}:cache:").invalidate(
            user_id
        )
    finally:
        await redis.aclose()


async def _video(pool, user_id: int, *, status: str = "pending_moderation") -> videos.Video:
    async with unit_of_work(pool) as conn:
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id="r" + uuid.uuid4().hex[:10],
            user_id=user_id,
            url="https://www.youtube.com/watch?v=reads",
            request_id=uuid.uuid4().hex,
            status=status,
        )
    return video


async def test_stats_follow_every_credit_and_the_payout(api, api_settings, pool, make_user):
    creator = await make_user()
    key = await api.key(Scope.READ)
    path = f"/api/v1/creators/{creator.id}/stats"
    zero = {
        "videos": 0,
        "views": 0,
        "earned": "0.00",
        "held": "0.00",
        "available": "0.00",
        "reserved": "0.00",
        "paid_out": "0.00",
    }
    assert await _get(api, key, path) == {"creator_id": creator.id, **zero}

    await _credit(pool, creator.id, "700.10")
    assert (await _get(api, key, path))["available"] == "0.00"  # cached, and this write did not invalidate
    await _committed(api_settings, pool, creator.id)
    assert (await _get(api, key, path))["available"] == "700.10"
    await _credit(pool, creator.id, "0.01")
    await _committed(api_settings, pool, creator.id)
    stats = await _get(api, key, path)
    assert (stats["earned"], stats["available"]) == ("700.11", "700.11")

    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(conn, user_id=creator.id, amount_rub=Decimal("500.00"), asset="USDT")
    await _committed(api_settings, pool, creator.id)
    stats = await _get(api, key, path)
    assert (stats["available"], stats["reserved"], stats["paid_out"]) == ("200.11", "500.00", "0.00")
    async with unit_of_work(pool) as conn:
        for status in ("approved", "sending", "paid"):
            await payouts.transition(conn, payout_id=payout.id, to_status=status)
    await _committed(api_settings, pool, creator.id)
    stats = await _get(api, key, path)
    assert (stats["earned"], stats["available"], stats["reserved"], stats["paid_out"]) == (
        "700.11",
        "200.11",
        "0.00",
        "500.00",
    )

    listed = await _get(api, key, f"/api/v1/creators/{creator.id}/payouts")
    assert [(p["id"], p["status"], p["amount_rub"]) for p in listed["items"]] == [(payout.id, "paid", "500.00")]


async def test_a_stalled_database_answers_503_within_the_database_deadline(
    serve_api, api_settings, database_url, make_user
):
    api = await serve_api(dataclasses.replace(api_settings, database_deadline_seconds=Decimal("1")))
    creator = await make_user()
    key = await api.key(Scope.READ)
    path = f"/api/v1/creators/{creator.id}/stats"
    # another connection holds the users table: the creator cannot be looked up
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        async with api.client.get(api.base + path, headers={"Authorization": f"Bearer {key}"}) as response:
            body = await response.json()
        elapsed = time.monotonic() - started
        await blocker.rollback()
    assert (response.status, body["error"]["code"]) == (503, "unavailable"), body
    assert response.headers["Retry-After"]
    assert 0.9 < elapsed < 3, elapsed  # the deadline set, not the default 5 s
    assert (await _get(api, key, path))["creator_id"] == creator.id  # the lock is gone: served again


async def test_video_counts_and_pages(api, pool, make_user):
    creator = await make_user()
    key = await api.key(Scope.READ)
    made = [await _video(pool, creator.id) for _ in range(3)]
    page = await _get(api, key, f"/api/v1/creators/{creator.id}/videos?limit=2")
    assert page["total"] == 3 and [v["id"] for v in page["items"]] == [made[2].id, made[1].id]
    rest = await _get(api, key, f"/api/v1/creators/{creator.id}/videos?limit=2&offset=2")
    assert [v["id"] for v in rest["items"]] == [made[0].id]
    assert (await _get(api, key, f"/api/v1/creators/{creator.id}/stats"))["videos"] == 3
    detail = await _get(api, key, f"/api/v1/videos/{made[0].id}")
    assert detail["status"] == "pending_moderation" and detail["history"] == []


async def test_admin_queues_page_through_what_waits(api, pool, make_user):
    creator = await make_user()
    key = await api.key(Scope.ADMIN)
    waiting = [await _video(pool, creator.id) for _ in range(2)]
    await _video(pool, creator.id, status="approved")
    queue = await _get(api, key, "/api/v1/admin/moderation?limit=100")
    ids = [item["id"] for item in queue["items"]]
    assert waiting[0].id in ids and waiting[1].id in ids and ids.index(waiting[0].id) < ids.index(waiting[1].id)
    assert queue["waiting"] >= 2 and all(item["status"] == "pending_moderation" for item in queue["items"])
    after = await _get(api, key, f"/api/v1/admin/moderation?after={waiting[0].id}&limit=100")
    assert waiting[0].id not in [item["id"] for item in after["items"]]

    await _credit(pool, creator.id, "900.00")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(conn, user_id=creator.id, amount_rub=Decimal("600.00"), asset="TON")
    requested = await _get(api, key, "/api/v1/admin/payouts?limit=100")
    assert payout.id in [item["id"] for item in requested["items"]] and requested["waiting"] >= 1
    async with unit_of_work(pool) as conn:
        await payouts.transition(conn, payout_id=payout.id, to_status="approved")
    approved = await _get(api, key, "/api/v1/admin/payouts?status=approved&limit=100")
    assert payout.id in [item["id"] for item in approved["items"]]
    assert payout.id not in [item["id"] for item in (await _get(api, key, "/api/v1/admin/payouts?limit=100"))["items"]]


async def test_campaigns_are_listed_with_their_spend(api, pool, make_user):
    from zenith.domain.campaigns import CampaignStatus, CampaignTerms
    from zenith.storage import campaigns, checks

    creator = await make_user()
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Brand {uuid.uuid4().hex[:6]}",
            terms=CampaignTerms(rate_per_1000=Decimal("150"), min_views=0, required_tags=("#brand",)),
            status=CampaignStatus.OPEN,
        )
        await campaigns.fund(
            conn, campaign_id=campaign.id, amount=Decimal("1000.00"), idempotency_key=f"fund:{campaign.id}"
        )
        video, _ = await videos.insert(
            conn,
            platform="tiktok",
            external_id="7" + str(uuid.uuid4().int)[:18],
            user_id=creator.id,
            url="https://www.tiktok.com/@a/video/1",
            request_id=uuid.uuid4().hex,
            status="approved",
            campaign_id=campaign.id,
        )
    async with unit_of_work(pool) as conn:
        await checks.record_check(
            conn,
            video_id=video.id,
            views=2_000,
            likes=0,
            comments=0,
            taken_at=video.submitted_at,
            earned_total=Decimal("300.00"),
            next_check_at=None,
        )
    key = await api.key(Scope.READ)
    listed = await _get(api, key, "/api/v1/campaigns?limit=100")
    mine = next(item for item in listed["items"] if item["id"] == campaign.id)
    assert mine == {
        "id": campaign.id,
        "name": campaign.name,
        "status": "open",
        "budgeted": True,
        "rate_per_1000": "150.00",
        "platforms": ["instagram", "tiktok", "youtube"],
        "required_tags": ["#brand"],
        "funded": "1000.00",
        "spent": "300.00",
        "remaining": "700.00",
        "videos": 1,
        "views": 2000,
        "cost_per_1000": "150.00",
    }
    default = next(item for item in listed["items"] if item["id"] == 1)
    assert (default["budgeted"], default["rate_per_1000"], default["remaining"]) == (False, None, "0.00")
