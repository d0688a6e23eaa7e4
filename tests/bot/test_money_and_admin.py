"""Balance, withdrawal, videos and the admin's decisions, checked in the database and the broker."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.bot.conftest import ADMIN_ID, new_telegram_id, queued, store_rate
from tests.conftest import create_migrated_database, drop_database
from zenith.storage import audit, ledger, payouts, snapshots, users, videos
from zenith.storage.db import fetch_one, unit_of_work


@pytest.fixture(scope="module")
def database_url():
    """The admins' queues (moderation, payouts) list every creator's items, and other test
    folders leave theirs in the session's database: this module reads them on its own."""
    url = create_migrated_database()
    yield url
    drop_database(url)


async def _creator(sandbox, pool, *, language="en", tier="bronze", balance="0") -> users.User:
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Creator", username=f"c{uid}", language_code=language)
    await sandbox.state.wait_for_message(uid, contains="Hi" if language == "en" else "Привет")
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        if tier != "bronze":
            user = await users.set_tier(conn, user_id=user.id, tier=tier)
        if Decimal(balance):
            await ledger.credit_earning(conn, user_id=user.id, amount=Decimal(balance), idempotency_key=f"test:{uid}")
    return user


async def _video(pool, user, *, status="pending_moderation", views=0) -> videos.Video:
    async with unit_of_work(pool) as conn:
        video_id = new_telegram_id()
        row = await fetch_one(
            conn,
            "INSERT INTO videos (platform, external_id, user_id, url, status, views) VALUES ('youtube', %s, %s, %s, %s, %s) RETURNING id",
            (f"v{video_id}", user.id, f"https://www.youtube.com/watch?v=x{video_id}", status, views),
        )
        return await videos.get(conn, row["id"])


async def _audit(pool, payout_id):
    async with pool.connection() as conn:
        return await audit.list_for_target(conn, target_type="payout", target_id=payout_id)


async def _withdraw(sandbox, uid, *, asset="USDT", amount="1 000,50"):
    sandbox.state.user_sends_text(uid, "💸 Withdraw")
    choose = await sandbox.state.wait_for_message(uid, contains="Which currency")
    sandbox.state.user_presses_button(uid, choose.message_id, f"wa:{asset}")
    await sandbox.state.wait_for_message(uid, contains="How many RUB")
    sandbox.state.user_sends_text(uid, amount)
    return await sandbox.state.wait_for_message(
        uid,
        predicate=lambda m: (
            "Confirm" in str(m.reply_markup)
            or "Exchange rates" in m.content
            or "minimum" in m.content
            or "Only" in m.content
            or "understand" in m.content
        ),
    )


async def test_balance_shows_totals_and_transfers(bot, sandbox, pool):
    user = await _creator(sandbox, pool, balance="1234.50")
    sandbox.state.user_sends_text(user.telegram_id, "💰 Balance")
    reply = await sandbox.state.wait_for_message(user.telegram_id, contains="Available")
    assert "1,234.50 RUB" in reply.text and "+1,234.50 RUB · earnings for views" in reply.text


async def test_withdrawal_creates_payout_with_reservation(bot, sandbox, pool, redis, namespace):
    user = await _creator(sandbox, pool, balance="2000")
    await store_rate(pool, asset="USDT", rate="95.5")
    quote = await _withdraw(sandbox, user.telegram_id, amount="1 000,50")
    assert "1,000.50 RUB" in quote.text and "10.476439 USDT" in quote.text
    confirm = [data for data in quote.callback_data() if data.startswith("wc:")][0]
    sandbox.state.user_presses_button(user.telegram_id, quote.message_id, confirm)
    created = await sandbox.state.wait_for_message(
        user.telegram_id, contains="Payout #", predicate=lambda m: "requested" in m.content
    )
    # a second tap on the same quote does nothing
    update = sandbox.state.user_sends_callback(user.telegram_id, quote.message_id, confirm)
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer["text"] == "This button is no longer available."
    async with pool.connection() as conn:
        mine = await payouts.list_for_user(conn, user_id=user.id)
        balances = await ledger.balances(conn, user.id)
    assert len(mine) == 1 and mine[0].status == "requested" and mine[0].amount_rub == Decimal("1000.50")
    assert f"#{mine[0].id}" in created.text
    assert balances.available == Decimal("999.50") and balances.reserved == Decimal("1000.50")
    # the payouts actor gets the id; for bronze it leaves the payout waiting for an admin
    assert [m.args for m in await queued(redis, namespace, "payouts")] == [[mine[0].id]]


async def test_gold_withdrawal_under_limit_is_told_automatic_and_sent(bot, sandbox, pool, redis, namespace):
    user = await _creator(sandbox, pool, tier="gold", balance="3000")
    await store_rate(pool, asset="TON", rate="250")
    quote = await _withdraw(sandbox, user.telegram_id, asset="TON", amount="2500")
    sandbox.state.user_presses_button(
        user.telegram_id, quote.message_id, [d for d in quote.callback_data() if d.startswith("wc:")][0]
    )
    await sandbox.state.wait_for_message(user.telegram_id, contains="without waiting for an admin")
    async with pool.connection() as conn:
        (payout,) = await payouts.list_for_user(conn, user_id=user.id)
    assert payout.status == "requested" and payout.amount_rub == Decimal("2500.00")
    assert [m.args for m in await queued(redis, namespace, "payouts")] == [[payout.id]]


async def test_withdrawal_limits_and_stale_rates(make_bot, make_settings, bot_env, sandbox, pool):
    # BTC is quoted only by this test (the database is shared by the session)
    await make_bot(settings=make_settings(**{**bot_env, "PAYOUT_ASSETS": "USDT,TON,BTC"}))
    user = await _creator(sandbox, pool, balance="800")
    await store_rate(pool, asset="BTC", rate="9000000", fetched_at=datetime.now(timezone.utc) - timedelta(hours=2))
    reply = await _withdraw(sandbox, user.telegram_id, asset="BTC", amount="100")
    assert "minimum withdrawal is 500.00 RUB" in reply.text
    sandbox.state.user_sends_text(user.telegram_id, "900")
    assert "Only 800.00 RUB" in (await sandbox.state.wait_for_message(user.telegram_id)).text
    sandbox.state.user_sends_text(user.telegram_id, "сто")
    assert "did not understand" in (await sandbox.state.wait_for_message(user.telegram_id)).text
    sandbox.state.user_sends_text(user.telegram_id, "600")
    assert "being updated" in (await sandbox.state.wait_for_message(user.telegram_id)).text
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []


async def test_too_small_balance_cannot_withdraw(bot, sandbox, pool):
    user = await _creator(sandbox, pool, language="ru", balance="10")
    sandbox.state.user_sends_text(user.telegram_id, "/withdraw")
    reply = await sandbox.state.wait_for_message(user.telegram_id, contains="минимум")
    assert "500,00 ₽" in reply.text and "10,00 ₽" in reply.text


async def test_videos_list_card_chart_and_ownership(bot, sandbox, pool):
    user = await _creator(sandbox, pool)
    other = await _creator(sandbox, pool)
    video = await _video(pool, user, status="approved", views=15300)
    foreign = await _video(pool, other)
    async with pool.connection() as conn:
        start = datetime.now(timezone.utc) - timedelta(hours=5)
        for hour, views in enumerate((0, 1200, 5000, 15300)):
            await snapshots.insert(conn, video_id=video.id, views=views, taken_at=start + timedelta(hours=hour))
    sandbox.state.user_sends_text(user.telegram_id, "🎬 My videos")
    listing = await sandbox.state.wait_for_message(user.telegram_id, contains="My videos")
    assert "15,300 views" in listing.text and f"v:{video.id}:0" in listing.callback_data()
    sandbox.state.user_presses_button(user.telegram_id, listing.message_id, f"v:{video.id}:0")
    card = await sandbox.state.wait_for_message(user.telegram_id, predicate=lambda m: m.photo is not None)
    assert card.photo.data.startswith(b"\x89PNG") and "Views: 15,300" in card.caption
    update = sandbox.state.user_sends_callback(user.telegram_id, listing.message_id, f"v:{foreign.id}:0")
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer["text"] == "This button is no longer available."


async def test_admin_approves_and_rejects_videos(bot, sandbox, pool, redis, namespace):
    creator = await _creator(sandbox, pool)
    to_approve, to_reject = await _video(pool, creator), await _video(pool, creator)
    sandbox.state.user_sends_text(ADMIN_ID, "/moderation", language_code="en")
    card = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"#{to_approve.id}", after=0, timeout=10)
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"av:ok:{to_approve.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{to_approve.id} approved")
    reject_card = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"#{to_reject.id}", after=0)
    sandbox.state.user_presses_button(ADMIN_ID, reject_card.message_id, f"av:no:{to_reject.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="reason")
    sandbox.state.user_sends_text(ADMIN_ID, "Чужое видео <script>")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{to_reject.id} rejected")
    async with pool.connection() as conn:
        approved, rejected = await videos.get(conn, to_approve.id), await videos.get(conn, to_reject.id)
        trail = await audit.list_for_target(conn, target_type="video", target_id=to_reject.id)
    assert approved.status == "approved" and approved.moderated_by == ADMIN_ID
    assert rejected.status == "rejected" and rejected.status_reason == "Чужое видео <script>"
    assert trail[0].action == "video.reject" and trail[0].admin_id == ADMIN_ID
    checks = [m.args for m in await queued(redis, namespace, "parsing")]
    assert checks == [[[to_approve.id]]]
    notes = {m.args[1]: m.args for m in await queued(redis, namespace, "notifications")}
    assert (
        notes["notify.video.rejected"][0] == creator.id
        and notes["notify.video.rejected"][2]["reason"] == "Чужое видео <script>"
    )
    assert notes["notify.video.approved"][3] == f"video:{to_approve.id}:approved"
    # pressing approve again on a decided video changes nothing
    update = sandbox.state.user_sends_callback(ADMIN_ID, card.message_id, f"av:ok:{to_reject.id}")
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer["text"] == "Already handled by another admin."


async def test_admin_rejects_payout_and_reservation_is_refunded(bot, sandbox, pool, redis, namespace):
    creator = await _creator(sandbox, pool, balance="1500")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("700"), asset="USDT", request_id=f"t:{creator.id}"
        )
    sandbox.state.user_sends_text(ADMIN_ID, "/payouts", language_code="en")
    card = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"#{payout.id}", after=0)
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"ap:no:{payout.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="reason")
    sandbox.state.user_sends_text(ADMIN_ID, "suspicious views")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Payout #{payout.id} rejected")
    async with pool.connection() as conn:
        after = await payouts.get(conn, payout.id)
        balances = await ledger.balances(conn, creator.id)
    assert after.status == "rejected" and after.decision_reason == "suspicious views" and after.decided_by == ADMIN_ID
    assert (await _audit(pool, payout.id))[0].action == "payout.reject"
    assert balances.available == Decimal("1500.00") and balances.reserved == Decimal("0.00")
    (note,) = [m for m in await queued(redis, namespace, "notifications") if m.args[1] == "notify.payout.rejected"]
    assert note.args[0] == creator.id and note.args[2]["reason"] == "suspicious views"
    assert await queued(redis, namespace, "payouts") == []


async def test_admin_approves_payout_and_manages_user(bot, sandbox, pool, redis, namespace):
    creator = await _creator(sandbox, pool, balance="900")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("600"), asset="TON", request_id=f"t:{creator.id}"
        )
    sandbox.state.user_sends_text(ADMIN_ID, "/payouts", language_code="en")
    card = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"#{payout.id}", after=0)
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"ap:ok:{payout.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Payout #{payout.id} approved")
    assert [m.args for m in await queued(redis, namespace, "payouts")] == [[payout.id]]
    sandbox.state.user_sends_text(ADMIN_ID, "/user")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="Telegram id or @username")
    sandbox.state.user_sends_text(ADMIN_ID, f"@{creator.username.upper()}")
    profile = await sandbox.state.wait_for_message(ADMIN_ID, contains=str(creator.telegram_id))
    assert "Bronze" in profile.text and "Reserved: 600.00 RUB" in profile.text
    sandbox.state.user_presses_button(ADMIN_ID, profile.message_id, f"au:gold:{creator.id}")
    await sandbox.state.wait_for_edit(ADMIN_ID, profile.message_id, contains="Gold")
    sandbox.state.user_presses_button(ADMIN_ID, profile.message_id, f"au:ban:{creator.id}")
    await sandbox.state.wait_for_edit(ADMIN_ID, profile.message_id, contains="blocked")
    async with pool.connection() as conn:
        changed = await users.get(conn, creator.id)
        actions = [e.action for e in await audit.list_for_target(conn, target_type="user", target_id=creator.id)]
    assert changed.tier == "gold" and changed.status == "banned"
    assert actions == ["user.ban", "user.tier"]
    # a banned creator can no longer submit or withdraw
    sandbox.state.user_sends_text(creator.telegram_id, "https://youtu.be/dQw4w9WgXcQ")
    await sandbox.state.wait_for_message(creator.telegram_id, contains="blocked")
    sandbox.state.user_sends_text(creator.telegram_id, "/withdraw")
    await sandbox.state.wait_for_message(creator.telegram_id, contains="on hold")


async def test_admin_broadcast_and_status(bot, sandbox, redis, namespace, pool):
    await store_rate(pool, asset="USDT", rate="95")
    sandbox.state.user_sends_text(ADMIN_ID, "/broadcast", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="broadcast text")
    sandbox.state.user_sends_text(ADMIN_ID, "New rates from Monday <3")
    preview = await sandbox.state.wait_for_message(ADMIN_ID, contains="Send this to all users")
    sandbox.state.user_presses_button(
        ADMIN_ID, preview.message_id, [d for d in preview.callback_data() if d.startswith("ab:")][0]
    )
    await sandbox.state.wait_for_message(ADMIN_ID, contains="Broadcast queued")
    (message,) = [m for m in await queued(redis, namespace, "notifications") if m.actor_name == "broadcast"]
    assert message.args[1] == "New rates from Monday <3"
    sandbox.state.user_sends_text(ADMIN_ID, "/status")
    status = await sandbox.state.wait_for_message(ADMIN_ID, contains="Queues")
    assert "notifications: 1" in status.text and "USDT: 95.00 RUB" in status.text


async def test_payouts_header_counts_every_requested_payout(bot, sandbox, pool):
    # more requested payouts than one screen shows: the header tells how many wait in all
    for index in range(7):
        creator = await _creator(sandbox, pool, balance="1000")
        async with unit_of_work(pool) as conn:
            await payouts.create_requested(
                conn, user_id=creator.id, amount_rub=Decimal("500"), asset="USDT", request_id=f"t:{creator.id}:{index}"
            )
    async with pool.connection() as conn:
        waiting = await payouts.count_by_status(conn, status="requested")  # the session database is shared
    assert waiting >= 7
    sandbox.state.user_sends_text(ADMIN_ID, "/payouts", language_code="en")
    header = await sandbox.state.wait_for_message(ADMIN_ID, contains="Payouts awaiting approval", after=0)
    assert f"{waiting:,} waiting, oldest first. Below: 1–5." in header.text
