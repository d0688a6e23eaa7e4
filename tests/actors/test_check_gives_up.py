"""A video whose platform keeps failing: its re-sends stop after MAX_RETRY_ATTEMPTS, the
creator is told the check is delayed, nothing is written, and the clock's stale-claim
path sends it again — then it is checked and credited once the platform answers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors import parsing
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.storage import videos
from zenith.storage.db import unit_of_work


async def test_a_check_that_keeps_failing_is_left_to_the_clock_and_not_lost(
    running_worker,
    sandbox,
    fake_youtube,
    make_user,
    make_verified_account,
    make_settings,
    actor_env,
    pool,
    monkeypatch,
    fast_platform_retries,
):
    monkeypatch.setattr(parsing, "RETRY_BASE_MS", 50)  # re-sends after 50, 100, 200, 400 ms
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    account = await make_verified_account(user, "youtube", channel)
    external = new_youtube_id()
    fake_youtube.state.add_video(external, views=4_000, channel_id=channel)
    now = datetime.now(timezone.utc)
    async with unit_of_work(pool) as conn:
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id=external,
            user_id=user.id,
            url=f"https://www.youtube.com/watch?v={external}",
            request_id=uuid.uuid4().hex,
            account_id=account.id,
            status="approved",
            next_check_at=now - timedelta(minutes=1),
        )
    fake_youtube.state.fail_next("500", times=1_000)
    settings = make_settings(**actor_env)
    try:
        async with running_worker() as worker:
            runtime = Runtime(
                settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url
            )
            try:
                assert (await tick(now, runtime=runtime))["checks"] >= 1  # claimed and sent
                message = await state.wait_for_message(user.telegram_id, contains="stays queued", timeout=20)
                await asyncio.sleep(1.0)
                calls = [ids for ids in fake_youtube.state.ids_per_call("videos") if external in ids]
                assert len(calls) == (1 + parsing.MAX_RETRY_ATTEMPTS) * 3  # first try + re-sends, x3 adapter attempts
                async with pool.connection() as conn:
                    waiting = await videos.get(conn, video.id)
                assert (waiting.last_checked_at, waiting.credited, waiting.views) == (None, Decimal("0.00"), 0)
                assert waiting.check_enqueued_at is not None  # still claimed: not due, but not lost

                # the platform recovers; CHECK_RESEND_SECONDS after its last re-send was due, the clock sends it again
                fake_youtube.state.failures.clear()
                later = datetime.now(timezone.utc) + timedelta(seconds=float(settings.check_resend_seconds) + 1)
                assert (await tick(later, runtime=runtime))["checks"] >= 1

                async def credited():
                    async with pool.connection() as conn:
                        checked = await videos.get(conn, video.id)
                    return checked if checked.credited > 0 else None

                checked = await eventually(credited, what="credited after the clock re-sent it")
            finally:
                await runtime.close()
    finally:
        fake_youtube.state.failures.clear()
    assert checked.credited == Decimal("260.00") and checked.check_enqueued_at is None
    assert message.text.startswith(f"⏳ We could not check https://www.youtube.com/watch?v={external} right now")
    delayed = [m for m in state.messages_for(user.telegram_id) if "stays queued" in m.text]
    assert len(delayed) == 1
