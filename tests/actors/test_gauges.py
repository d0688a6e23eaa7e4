"""active_users counts the creators who wrote to the bot in the last 24 hours, sampled by the clock's gauges."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone

from zenith.actors.gauges import GaugeSampler
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.storage import users
from zenith.storage.db import connect
from zenith.telemetry.metrics import ZenithMetrics

_ids = itertools.count(os.getpid() * 1_000_000 + 700_001)


async def test_active_users_counts_creators_seen_in_the_last_24_hours(
    clean_database_url, redis_url, cleanup_namespace, make_settings
):
    now = datetime.now(timezone.utc)
    seen = {
        "just now": now,
        "23 h ago": now - timedelta(hours=23),
        "25 h ago": now - timedelta(hours=25),
        "never": None,
    }
    async with connect(clean_database_url) as conn:
        for label, at in seen.items():
            user = await users.get_or_create(conn, telegram_id=next(_ids), language="en", first_name=label)
            if at is not None:
                await users.mark_seen(conn, user_id=user.id, now=at)
        banned = await users.get_or_create(conn, telegram_id=next(_ids), language="en")
        await users.mark_seen(conn, user_id=banned.id, now=now)
        await users.ban(conn, user_id=banned.id)
        # a later message inside the hour does not move it back, nor write again
        again = await users.get_or_create(conn, telegram_id=banned.telegram_id, language="en")
        assert not users.seen_long_ago(again, now=now + timedelta(minutes=59))
        assert users.seen_long_ago(again, now=now + timedelta(minutes=61))
        await users.mark_seen(conn, user_id=banned.id, now=now - timedelta(days=3))
        assert (await users.get(conn, banned.id)).last_seen_at == now

    settings = make_settings(DATABASE_URL=clean_database_url, REDIS_URL=redis_url, REDIS_NAMESPACE=cleanup_namespace)
    broker = build_broker(settings, redis_url=redis_url, namespace=cleanup_namespace)
    runtime = Runtime(settings, broker=broker, database_url=clean_database_url, redis_url=redis_url)
    metrics = ZenithMetrics.create()
    try:
        sampler = GaugeSampler(runtime, metrics=metrics, active_users_every=3600)
        await sampler.sample()
        assert metrics.active_users._value.get() == 2  # just now and 23 h ago; not 25 h, never, nor the banned one
        async with connect(clean_database_url) as conn:
            user = await users.get_or_create(conn, telegram_id=next(_ids), language="en")
            await users.mark_seen(conn, user_id=user.id, now=now)
        await sampler.sample()
        assert metrics.active_users._value.get() == 2  # sampled at most every active_users_every
        sampler.active_users_every = 0
        await sampler.sample()
        assert metrics.active_users._value.get() == 3
    finally:
        await runtime.close()
        broker.close()
