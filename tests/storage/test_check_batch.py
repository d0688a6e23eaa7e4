"""The batch store (``check_batch.record_checks``) on a database of the test's own: the
same money as one ``record_check`` per video, a redelivered batch credits nothing twice,
a batch after a partly committed attempt credits only the rest, held growth goes to the
held account, and many batches crediting one campaign at once never overspend it."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID, CampaignStatus, CampaignTerms
from zenith.domain.trust import Signal, SignalKind
from zenith.storage import campaigns, check_batch, checks, ledger, users, videos
from zenith.storage.db import fetch_all, fetch_one, open_pool, unit_of_work
from zenith.storage.ledger_check import check_ledger

_ids = itertools.count(os.getpid() * 1_000_000 + 700_001)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
async def db(clean_database_url):
    pool = await open_pool(clean_database_url, min_size=1, max_size=12, name="check-batch-test")
    try:
        yield pool
    finally:
        await pool.close()


async def _videos(pool, count: int, *, campaign_id: int = DEFAULT_CAMPAIGN_ID) -> list[videos.Video]:
    made = []
    async with pool.connection() as conn:
        for _ in range(count):
            n = next(_ids)
            user = await users.get_or_create(conn, telegram_id=n, language="en")
            video, _ = await videos.insert(
                conn,
                platform="youtube",
                external_id=f"b{n:010d}",
                user_id=user.id,
                url=f"https://youtu.be/b{n:010d}",
                request_id=f"req-{n}",
                status="approved",
                campaign_id=campaign_id,
            )
            made.append(video)
    return made


def _inputs(batch: list[videos.Video], *, views: int, total: str) -> list[check_batch.CheckInput]:
    return [
        check_batch.CheckInput(
            video_id=video.id,
            views=views,
            likes=0,
            comments=0,
            earned_total=D(total),
            next_check_at=T0 + timedelta(days=1),
        )
        for video in batch
    ]


async def _store(pool, inputs, *, at: datetime, judge=None) -> dict[int, checks.CheckResult]:
    async with unit_of_work(pool) as conn:
        return await check_batch.record_checks(conn, inputs, taken_at=at, judge=judge)


async def _available(pool, video: videos.Video) -> D:
    async with pool.connection() as conn:
        return (await ledger.balances(conn, video.user_id)).available


async def _transfers(pool, video_ids: list[int]) -> int:
    async with pool.connection() as conn:
        row = await fetch_one(conn, "SELECT count(*) AS n FROM ledger_transfers WHERE video_id = ANY(%s)", (video_ids,))
    return row["n"] if row else 0


async def test_a_batch_credits_each_video_once_and_a_redelivered_batch_credits_nothing(db):
    batch = await _videos(db, 5)
    first = await _store(db, _inputs(batch, views=20_000, total="1300.00"), at=T0)
    assert [first[v.id].credited_now for v in batch] == [D("1300.00")] * 5
    assert all(first[v.id].video.credited == D("1300.00") and first[v.id].video.views == 20_000 for v in batch)
    # the same message again after its commit: a new taken_at, nothing new earned
    again = await _store(db, _inputs(batch, views=20_000, total="1300.00"), at=T0 + timedelta(seconds=5))
    assert [again[v.id].credited_now for v in batch] == [D("0.00")] * 5 and not any(r.replay for r in again.values())
    # the very same check (same taken_at) is a replay
    replay = await _store(db, _inputs(batch, views=20_000, total="1300.00"), at=T0)
    assert all(replay[v.id].replay and replay[v.id].credited_now == 0 for v in batch)
    assert [await _available(db, v) for v in batch] == [D("1300.00")] * 5
    assert await _transfers(db, [v.id for v in batch]) == 5
    async with db.connection() as conn:
        assert await check_ledger(conn) == []


async def test_a_batch_after_a_partly_committed_attempt_credits_only_the_rest(db):
    batch = await _videos(db, 4)
    # an earlier attempt stored two of them one by one (the per-video fallback) and died
    for video in batch[:2]:
        async with unit_of_work(db) as conn:
            await checks.record_check(
                conn,
                video_id=video.id,
                views=20_000,
                likes=0,
                comments=0,
                taken_at=T0,
                earned_total=D("1300.00"),
                next_check_at=None,
            )
    results = await _store(db, _inputs(batch, views=20_000, total="1300.00"), at=T0 + timedelta(seconds=30))
    assert [results[v.id].credited_now for v in batch] == [D("0.00"), D("0.00"), D("1300.00"), D("1300.00")]
    assert [await _available(db, v) for v in batch] == [D("1300.00")] * 4
    assert await _transfers(db, [v.id for v in batch]) == 4


async def test_growth_judged_doubtful_goes_to_the_held_account_in_the_batch(db):
    batch = await _videos(db, 3)
    doubtful = batch[1].id

    async def judge(conn, locked):
        return {doubtful: (Signal(kind=SignalKind.SPIKE, evidence={"why": "test"}),)}

    results = await _store(db, _inputs(batch, views=20_000, total="1300.00"), at=T0, judge=judge)
    assert results[doubtful].held_now == D("1300.00") and results[doubtful].credited_now == 0
    assert results[batch[0].id].credited_now == D("1300.00")
    async with db.connection() as conn:
        held = await ledger.balances(conn, batch[1].user_id)
        holds = await fetch_all(conn, "SELECT amount FROM trust_holds WHERE video_id = %s", (doubtful,))
        assert await check_ledger(conn) == []
    assert (held.available, held.held) == (D("0.00"), D("1300.00")) and [h["amount"] for h in holds] == [D("1300.00")]


async def test_a_missing_video_fails_the_whole_batch_and_stores_nothing(db):
    batch = await _videos(db, 2)
    inputs = _inputs(batch, views=20_000, total="1300.00")
    inputs.append(
        check_batch.CheckInput(video_id=10**12, views=1, likes=0, comments=0, earned_total=D(0), next_check_at=None)
    )
    with pytest.raises(videos.VideoNotFound):
        await _store(db, inputs, at=T0)
    assert await _transfers(db, [v.id for v in batch]) == 0


async def test_many_batches_crediting_one_campaign_at_once_never_overspend(db):
    async with unit_of_work(db) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Brand {next(_ids)}",
            terms=CampaignTerms(rate_per_1000=D("100"), min_views=0),
            funder="brand",
            status=CampaignStatus.OPEN,
        )
        await campaigns.fund(conn, campaign_id=campaign.id, amount=D("5000.00"), idempotency_key=f"fund:{campaign.id}")
    batches = [await _videos(db, 5, campaign_id=campaign.id) for _ in range(6)]  # 30 videos asking 700 each

    async def store(batch):
        return await _store(db, _inputs(batch, views=7_000, total="700.00"), at=T0)

    results = await asyncio.gather(*(store(batch) for batch in batches))
    paid = sum((r.credited_now for batch in results for r in batch.values()), D("0.00"))
    assert paid == D("5000.00")
    spent = [r.campaign_spent for batch in results for r in batch.values() if r.campaign_spent is not None]
    assert len(spent) == 1 and spent[0].status is CampaignStatus.CLOSED
    async with db.connection() as conn:
        assert await ledger.account_balance(conn, ledger.budget_account(campaign.id)) == D("0.00")
        assert await check_ledger(conn) == []
