"""Held earnings reviewed by an admin through the bot, with the real actors.

Bought views (a jump with no likes) are held by the real parsing actor; the creator sees
them "on review" and cannot withdraw them, and a Gold creator's withdrawal goes to an
admin. The admin's /review card carries the chart and the evidence; release credits the
creator's available balance, reverse tells them the reason, the bulk button decides every
hold of the creator. The ledger check stays clean for them throughout.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, drain, store_rate, wait_until
from tests.bot.test_end_to_end_admin import _admin_card, _admin_rejects, _creator, _new_video, _withdraw
from tests.view_history import approved_video, let_time_pass, snapshot_count
from zenith.messaging.contract import CHECK_VIDEOS, send
from zenith.storage import audit, ledger, payouts, trust_holds
from zenith.storage.db import fetch_one, unit_of_work
from zenith.storage.ledger_check import check_ledger

ORGANIC = Decimal("780.00")  # 12,000 views at 65 RUB per 1,000
BOUGHT = Decimal("8970.00")  # the jump to 150,000 views
# notices to the creator go through the notifications actor at most one a second per chat,
# behind the earlier credit and hold notices of the same test
NOTICE_WAIT = 30


async def _bought_views(worker, youtube, pool, creator) -> trust_holds.Hold:
    """A video of `creator` checked three times an hour apart: 10,000 and 12,000 views, then
    150,000 with hardly a new like. Returns the hold the last check opened."""
    external_id = _new_video(youtube, creator, views=0)
    video = await approved_video(pool, creator.user, "youtube", external_id, published_at=datetime.now(timezone.utc))
    for views, likes in ((10_000, 400), (12_000, 470), (150_000, 480)):
        await let_time_pass(pool, video.id, 1)
        with youtube.state.lock:
            youtube.state.videos[external_id].views = views
            youtube.state.videos[external_id].likes = likes
        before = await snapshot_count(pool, video.id)
        send(CHECK_VIDEOS, [video.id], broker=worker.broker)
        await wait_until(lambda before=before: _more_snapshots(pool, video.id, before), timeout=20)
    async with pool.connection() as conn:
        row = await fetch_one(conn, "SELECT id FROM trust_holds WHERE video_id = %s", (video.id,))
        assert row is not None, "the jump was not held"
        return await trust_holds.get(conn, row["id"])


async def _more_snapshots(pool, video_id: int, before: int) -> bool:
    return await snapshot_count(pool, video_id) > before


async def _balances(pool, user) -> ledger.UserBalances:
    async with pool.connection() as conn:
        return await ledger.balances(conn, user.id)


async def _books_of(pool, user) -> list[str]:
    async with pool.connection() as conn:
        problems = await check_ledger(conn)
    return [p for p in problems if f"user:{user.id}:" in p or f"user {user.id}:" in p]


async def _decisions(pool, hold_id: int) -> list[tuple[str, int, str | None]]:
    async with pool.connection() as conn:
        entries = await audit.list_for_target(conn, target_type="hold", target_id=hold_id)
    return [(e.action, e.admin_id, e.reason) for e in entries]


async def test_a_gold_creators_bought_views_are_held_until_an_admin_releases_them(
    e2e_bot, worker, sandbox, fakes, pool
):
    youtube, _, _ = fakes
    creator = await _creator(sandbox, pool, youtube, tier="gold")
    uid = creator.telegram_id
    hold = await _bought_views(worker, youtube, pool, creator)
    assert hold.amount == BOUGHT and (hold.views_before, hold.views_now) == (12_000, 150_000)
    balances = await _balances(pool, creator)
    assert (balances.available, balances.held) == (ORGANIC, BOUGHT)
    await sandbox.state.wait_for_message(uid, contains="is on review", after=0, timeout=NOTICE_WAIT)
    sandbox.state.user_sends_text(uid, "/balance")
    await sandbox.state.wait_for_message(uid, contains="On review: 8,970.00 RUB")

    # a Gold withdrawal under the automatic limit goes to an admin while the signal is open
    await store_rate(pool, asset="USDT", rate="95.5")
    created = await _withdraw(sandbox, uid, amount="600")
    assert "An admin will review it" in created.content
    await drain(worker, "payouts")
    async with pool.connection() as conn:
        waiting = await payouts.get(conn, int(created.content.split("#")[1].split()[0]))
    assert waiting.status == "requested"
    # what is on review cannot be withdrawn: only the 180 RUB left count
    sandbox.state.user_sends_text(uid, "/withdraw")
    await sandbox.state.wait_for_message(uid, contains="you have 180.00 RUB")

    card = await _admin_card(sandbox, "/review", f"Hold #{hold.id} ·")
    assert card.photo is not None  # the views chart, the jump shaded
    assert "spike" in card.content and "low engagement" in card.content and "12,000 → 150,000" in card.content
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"ah:ok:{hold.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Hold #{hold.id} released")
    await sandbox.state.wait_for_message(uid, contains="passed review", timeout=NOTICE_WAIT)
    # a second press (an old card, another admin) moves nothing
    again = sandbox.state.user_sends_callback(ADMIN_ID, card.message_id, f"ah:ok:{hold.id}")
    answer = await sandbox.state.wait_for_callback_answer(again["callback_query"]["id"])
    assert answer["show_alert"] and answer["text"] == "Already handled by another admin."
    balances = await _balances(pool, creator)
    assert (balances.available, balances.held, balances.reserved) == (ORGANIC - 600 + BOUGHT, 0, Decimal("600.00"))
    assert await _decisions(pool, hold.id) == [("hold.release", ADMIN_ID, None)]
    assert await _books_of(pool, creator) == []
    async with unit_of_work(
        pool
    ) as conn:  # leave the shared payouts queue as it was (rejecting releases the reservation)
        await payouts.transition(
            conn,
            payout_id=waiting.id,
            to_status="rejected",
            from_statuses=("requested",),
            decided_by=ADMIN_ID,
            decision_reason="test",
        )


async def test_an_admin_reverses_one_hold_then_every_other_hold_of_the_creator(e2e_bot, worker, sandbox, fakes, pool):
    youtube, _, _ = fakes
    creator = await _creator(sandbox, pool, youtube)
    uid = creator.telegram_id
    holds = [await _bought_views(worker, youtube, pool, creator) for _ in range(3)]
    balances = await _balances(pool, creator)
    assert (balances.available, balances.held) == (3 * ORGANIC, 3 * BOUGHT)

    card = await _admin_card(sandbox, "/review", f"Hold #{holds[0].id} ·")
    await _admin_rejects(sandbox, card, f"ah:no:{holds[0].id}", "bought views", done=f"Hold #{holds[0].id} reversed")
    await sandbox.state.wait_for_message(uid, contains="not credited after review: bought views", timeout=NOTICE_WAIT)
    card = await _admin_card(sandbox, "/review", f"Hold #{holds[1].id} ·")
    assert "Creator's history: 2 on review (17,940.00 RUB), 0 released, 1 reversed" in card.content
    await _admin_rejects(
        sandbox, card, f"ah:allno:{holds[1].id}", "a bot farm", done="2 holds reversed (17,940.00 RUB)"
    )
    await sandbox.state.wait_for_message(
        uid,
        contains="2 items on review (17,940.00 RUB) were not credited after review: a bot farm",
        timeout=NOTICE_WAIT,
    )

    balances = await _balances(pool, creator)
    assert (balances.available, balances.held) == (3 * ORGANIC, 0)
    assert await _decisions(pool, holds[0].id) == [("hold.reverse", ADMIN_ID, "bought views")]
    for hold in holds[1:]:
        assert await _decisions(pool, hold.id) == [("hold.reverse", ADMIN_ID, "a bot farm")]
    async with pool.connection() as conn:
        assert [h.status for h in [await trust_holds.get(conn, h.id) for h in holds]] == ["reversed"] * 3
    assert await _books_of(pool, creator) == []


async def test_an_admin_releases_every_hold_of_a_creator_at_once(e2e_bot, worker, sandbox, fakes, pool):
    youtube, _, _ = fakes
    creator = await _creator(sandbox, pool, youtube)
    holds = [await _bought_views(worker, youtube, pool, creator) for _ in range(2)]
    card = await _admin_card(sandbox, "/review", f"Hold #{holds[1].id} ·")
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"ah:allok:{holds[1].id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="2 holds released (17,940.00 RUB)")
    await sandbox.state.wait_for_message(
        creator.telegram_id, contains="2 items on review (17,940.00 RUB) passed review", timeout=NOTICE_WAIT
    )
    balances = await _balances(pool, creator)
    assert (balances.available, balances.held) == (2 * ORGANIC + 2 * BOUGHT, 0)
    for hold in holds:
        assert await _decisions(pool, hold.id) == [("hold.release", ADMIN_ID, None)]
    async with pool.connection() as conn:
        signals = await fetch_one(
            conn,
            "SELECT count(*) FILTER (WHERE state = 'cleared') AS cleared, count(*) AS n FROM trust_signals WHERE user_id = %s",
            (creator.id,),
        )
    assert signals["cleared"] == signals["n"] == 4  # a spike and low engagement per hold, cleared by the release
    assert await _books_of(pool, creator) == []
