"""A link sent to a campaign whose wake-up the broker lost: the clock re-sends the received
row and the video lands in the campaign picked, not in the only-joined or default one.

Real worker, real clock code (``resend_submissions``), the fake TikTok; the creator
joined two open campaigns, so without the stored choice the actor would fall back to the
default program.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_tiktok_id
from zenith.actors.clock import resend_submissions
from zenith.actors.runtime import Runtime
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.messaging.submissions import submit_link
from zenith.storage import campaigns, submissions
from zenith.storage.db import fetch_all, unit_of_work


async def _open_campaign(pool, *, name: str) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn, name=name, terms=CampaignTerms(rate_per_1000=Decimal("100"), min_views=0), status=CampaignStatus.OPEN
        )
        await campaigns.fund(conn, campaign_id=campaign.id, amount=Decimal("1000"), idempotency_key=f"f:{campaign.id}")
    return campaign


async def test_a_lost_wake_up_is_re_sent_by_the_clock_into_the_campaign_picked(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, make_settings, actor_env, pool, redis_url
):
    state, _ = sandbox
    settings = make_settings(**actor_env)
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    author, author_id = f"lost{uuid.uuid4().hex[:8]}", "68" + str(uuid.uuid4().int)[:17]
    await make_verified_account(user, "tiktok", author_id, handle=author)
    first = await _open_campaign(pool, name=f"First {uuid.uuid4().hex[:6]}")
    picked = await _open_campaign(pool, name=f"Picked {uuid.uuid4().hex[:6]}")
    async with unit_of_work(pool) as conn:
        for campaign in (first, picked):
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    video_id = new_tiktok_id()
    fake_tiktok.state.add_video(video_id, views=0, author=author, author_id=author_id)
    request_id = f"{user.id}:resend:{uuid.uuid4().hex[:8]}"
    lost: list[tuple] = []

    async def broker_loses_it(route, *args):
        lost.append(args)
        raise ConnectionError("broker restarted empty")

    await submit_link(
        send=broker_loses_it,
        transaction=lambda: unit_of_work(pool),
        settings=settings,
        user=user,
        link=f"https://www.tiktok.com/@{author}/video/{video_id}",
        request_id=request_id,
        source="test",
        campaign_id=picked.id,
    )
    assert lost == [(user.id, f"https://www.tiktok.com/@{author}/video/{video_id}", request_id, picked.id)]
    async with pool.connection() as conn:
        received = await submissions.get(conn, request_id=request_id)
    assert (received.status, received.campaign_id) == ("received", picked.id)

    async with running_worker() as worker:
        runtime = Runtime(settings, broker=worker.broker, database_url=settings.database_url, redis_url=redis_url)
        try:
            overdue = datetime.now(timezone.utc) + timedelta(seconds=float(settings.submission_resend_seconds) + 1)
            # the database is shared: other tests' waiting rows may be re-sent too
            assert await resend_submissions(runtime, overdue) >= 1

            async def stored():
                async with pool.connection() as conn:
                    return await fetch_all(conn, "SELECT campaign_id FROM videos WHERE request_id = %s", (request_id,))

            rows = await eventually(stored, timeout=30, what="the re-sent link stored")
        finally:
            await runtime.close()
    assert rows == [{"campaign_id": picked.id}]
    async with pool.connection() as conn:
        assert (await submissions.get(conn, request_id=request_id)).status == "stored"


async def test_a_link_re_sent_too_often_ends_failed_and_the_creator_is_asked_again(
    running_worker, sandbox, make_user, make_settings, actor_env, pool, redis_url
):
    state, _ = sandbox
    settings = make_settings(**actor_env, SUBMISSION_MAX_RESENDS="0")  # the first re-send is one too many
    user = await make_user(language="en")
    state.add_user(user.telegram_id)
    request_id = f"{user.id}:gave-up:{uuid.uuid4().hex[:8]}"
    url = f"https://www.tiktok.com/@nobody/video/{new_tiktok_id()}"
    async with unit_of_work(pool) as conn:
        await submissions.receive(conn, request_id=request_id, user_id=user.id, url=url, platform="tiktok")

    async with running_worker(SUBMISSION_MAX_RESENDS="0") as worker:
        runtime = Runtime(settings, broker=worker.broker, database_url=settings.database_url, redis_url=redis_url)
        try:
            overdue = datetime.now(timezone.utc) + timedelta(seconds=float(settings.submission_resend_seconds) + 1)
            assert await resend_submissions(runtime, overdue) == 0  # not re-sent: given up
            await eventually(lambda: state.messages_for(user.telegram_id), what="the send-again notice")
        finally:
            await runtime.close()
    async with pool.connection() as conn:
        failed = await submissions.get(conn, request_id=request_id)
    assert (failed.status, failed.outcome) == ("failed", "lost")
    [notice] = state.messages_for(user.telegram_id)
    assert url in notice.text and "send the link again" in notice.text
