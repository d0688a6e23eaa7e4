"""End to end with admins: moderation, payout decisions, a ban and refusals, with the real actors.

The bot polls the sandbox; an in-process Dramatiq worker runs every actor against the
fake YouTube and Crypto Pay; admins and creators act only through Telegram messages and
buttons. Creators get their verified channel straight in the database (verification has
its own end-to-end test) to keep these tests short.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, drain, new_telegram_id, store_rate
from zenith.domain.verification import generate_code
from zenith.messaging.contract import CHECK_VIDEOS, PROCESS_PAYOUT, SUBMIT_VIDEO, send
from zenith.storage import accounts, audit, ledger, payouts, snapshots, trust_holds, users, videos
from zenith.storage.db import unit_of_work

ADMIN_REFUSED = "This command is for admins only."


@dataclass(frozen=True)
class Creator:
    user: users.User
    channel_id: str | None

    def __getattr__(self, name):  # creator.id, creator.telegram_id, ... of the user row
        return getattr(self.user, name)


async def _creator(sandbox, pool, youtube=None, *, tier="bronze", balance="0") -> Creator:
    """A registered English-speaking creator; with `youtube`, owner of a verified channel there."""
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Creator", username=f"c{uid}", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Hi")
    channel_id = None
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        if youtube is not None:
            channel_id = "UC" + uuid.uuid4().hex[:22]
            youtube.state.add_channel(channel_id, handle=f"@{channel_id.lower()}")
            account = await accounts.create_pending(
                conn,
                user_id=user.id,
                platform="youtube",
                handle=channel_id.lower(),
                verification_code=generate_code(),
                external_id=channel_id,
            )
            await accounts.mark_verified(conn, account_id=account.id, external_id=channel_id)
        if tier != "bronze":
            user = await users.set_tier(conn, user_id=user.id, tier=tier)
        if Decimal(balance):
            await ledger.credit_earning(conn, user_id=user.id, amount=Decimal(balance), idempotency_key=f"test:{uid}")
    return Creator(user=user, channel_id=channel_id)


def _new_video(youtube, creator: Creator, *, views: int, title: str = "") -> str:
    video_id = uuid.uuid4().hex[:11]
    youtube.state.add_video(video_id, views=views, channel_id=creator.channel_id, title=f"Clip {title}")
    return video_id


async def _video_by_external_id(pool, external_id: str) -> videos.Video:
    async with pool.connection() as conn:
        return await videos.find(conn, platform="youtube", external_id=external_id)


async def _balances(pool, user) -> ledger.UserBalances:
    async with pool.connection() as conn:
        return await ledger.balances(conn, user.id)


async def _admin_card(sandbox, command: str, marker: str):
    """The card containing `marker` in the queue `command` shows, paging on with Next ›
    while it is not on the page (other tests of the session leave items waiting)."""
    sandbox.state.user_sends_text(ADMIN_ID, command, language_code="en")
    floor = sandbox.state.chats[ADMIN_ID].last_user_message_id

    def card_or_pager(message) -> bool:
        return marker in (message.content or "") or bool(re.match(r"Page \d+/\d+$", message.content or ""))

    while True:
        found = await sandbox.state.wait_for_message(ADMIN_ID, predicate=card_or_pager, after=floor)
        if marker in found.content:
            return found
        onward = [
            data
            for data in found.callback_data()
            if int(data.rsplit(":", 1)[1]) >= int(found.content.split()[1].split("/")[0])
        ]
        assert onward, f"{marker!r} is on no page of {command}"
        sandbox.state.user_presses_button(ADMIN_ID, found.message_id, onward[0])
        floor = found.message_id


async def _admin_rejects(sandbox, card, data: str, reason: str, done: str) -> None:
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, data)
    await sandbox.state.wait_for_message(ADMIN_ID, contains="reason")
    sandbox.state.user_sends_text(ADMIN_ID, reason)
    await sandbox.state.wait_for_message(ADMIN_ID, contains=done)


async def _withdraw(sandbox, uid: int, *, amount: str, asset: str = "USDT"):
    """Walk the withdrawal dialog and confirm; returns the bot's "request created" message."""
    sandbox.state.user_sends_text(uid, "/withdraw")
    choose = await sandbox.state.wait_for_message(uid, contains="Which currency")
    sandbox.state.user_presses_button(uid, choose.message_id, f"wa:{asset}")
    await sandbox.state.wait_for_message(uid, contains="How many RUB")
    sandbox.state.user_sends_text(uid, amount)
    quote = await sandbox.state.wait_for_message(uid, contains="Please confirm")
    sandbox.state.user_presses_button(
        uid, quote.message_id, [d for d in quote.callback_data() if d.startswith("wc:")][0]
    )
    return await sandbox.state.wait_for_message(uid, contains="Payout #", predicate=lambda m: "requested" in m.content)


async def test_bronze_videos_wait_for_moderation_then_one_is_credited_and_one_rejected(
    e2e_bot, worker, sandbox, fakes, pool
):
    youtube, _, _ = fakes
    creator = await _creator(sandbox, pool, youtube)
    uid = creator.telegram_id
    good, bad = (
        _new_video(youtube, creator, views=20_000, title="good"),
        _new_video(youtube, creator, views=50_000, title="bad"),
    )

    sandbox.state.user_sends_text(uid, f"https://youtu.be/{good}\nhttps://youtu.be/{bad}")
    await sandbox.state.wait_for_message(uid, contains="2 links accepted")
    for external_id in (good, bad):
        await sandbox.state.wait_for_message(
            uid, contains=external_id, after=0, predicate=lambda m: "moderation" in m.content, timeout=20
        )
    await drain(worker, "submission", "parsing")
    approved, rejected = await _video_by_external_id(pool, good), await _video_by_external_id(pool, bad)
    assert approved.status == rejected.status == "pending_moderation"
    assert (await _balances(pool, creator)).available == 0  # nothing earns before an admin decides
    sandbox.state.user_sends_text(uid, "/videos")
    listing = await sandbox.state.wait_for_message(uid, contains="My videos")
    assert "Clip good" in listing.text and "in moderation" in listing.text

    card = await _admin_card(sandbox, "/moderation", f"#{approved.id}")
    assert creator.username in card.text and "Clip good" in card.text and "Bronze" in card.text
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"av:ok:{approved.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{approved.id} approved")
    await sandbox.state.wait_for_message(uid, contains="+1,300.00 RUB", after=0, timeout=20)

    reject_card = await _admin_card(sandbox, "/moderation", f"#{rejected.id}")
    await _admin_rejects(
        sandbox,
        reject_card,
        f"av:no:{rejected.id}",
        "Re-upload of someone else's clip",
        f"Video #{rejected.id} rejected",
    )
    told = await sandbox.state.wait_for_message(
        uid, contains="rejected", after=0, predicate=lambda m: bad in m.content, timeout=20
    )
    assert "Re-upload of someone else's clip" in told.text

    # even a check of the rejected video (a stale message, a clock) never credits it
    send(CHECK_VIDEOS, [rejected.id], broker=worker.broker)
    await drain(worker, "parsing", "notifications")
    async with pool.connection() as conn:
        final = await videos.get(conn, rejected.id)
        balances = await ledger.balances(conn, creator.id)
    assert final.status == "rejected" and final.credited == 0
    assert balances.available == Decimal("1300.00")
    assert not [m for m in sandbox.state.messages_for(uid) if "+" in m.content and bad in m.content]


async def test_admin_rejects_one_payout_and_approves_another_which_is_paid_once(e2e_bot, worker, sandbox, fakes, pool):
    _, _, cryptopay = fakes
    creator = await _creator(sandbox, pool, balance="2000")
    uid = creator.telegram_id
    cryptopay.state.known_users.add(uid)
    await store_rate(pool, asset="USDT", rate="95")

    # bronze: the payouts actor leaves the request to an admin
    created = await _withdraw(sandbox, uid, amount="600")
    await drain(worker, "payouts")
    async with pool.connection() as conn:
        (first,) = await payouts.list_for_user(conn, user_id=creator.id)
    assert first.status == "requested" and f"#{first.id}" in created.text
    card = await _admin_card(sandbox, "/payouts", f"#{first.id}")
    assert creator.username in card.text and "600.00 RUB" in card.text and "available 1,400.00 RUB" in card.text
    await _admin_rejects(sandbox, card, f"ap:no:{first.id}", "Views look bought", f"Payout #{first.id} rejected")
    told = await sandbox.state.wait_for_message(
        uid, contains=f"#{first.id}", after=0, predicate=lambda m: "rejected" in m.content, timeout=20
    )
    assert "Views look bought" in told.text and "600.00 RUB" in told.text
    balances = await _balances(pool, creator)
    assert balances.available == Decimal("2000.00") and balances.reserved == 0

    await _withdraw(sandbox, uid, amount="700")
    await drain(worker, "payouts")
    async with pool.connection() as conn:
        second = next(p for p in await payouts.list_for_user(conn, user_id=creator.id) if p.id != first.id)
    assert second.status == "requested" and cryptopay.state.transfers_for(second.spend_id) == []
    card = await _admin_card(sandbox, "/payouts", f"#{second.id}")
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"ap:ok:{second.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Payout #{second.id} approved")
    await sandbox.state.wait_for_message(uid, contains=f"✅ Payout #{second.id} sent:", after=0, timeout=20)
    # a second press and a re-delivered message pay nothing more
    update = sandbox.state.user_sends_callback(ADMIN_ID, card.message_id, f"ap:ok:{second.id}")
    assert (await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"]))[
        "text"
    ] == "Already handled by another admin."
    send(PROCESS_PAYOUT, second.id, broker=worker.broker)
    await drain(worker, "payouts")
    async with pool.connection() as conn:
        paid = await payouts.get(conn, second.id)
        balances = await ledger.balances(conn, creator.id)
    assert paid.status == "paid" and len(cryptopay.state.transfers_for(paid.spend_id)) == 1
    assert cryptopay.state.transfers_for(first.spend_id) == []
    assert (
        balances.available == Decimal("1300.00") and balances.reserved == 0 and balances.paid_out == Decimal("700.00")
    )


async def test_banned_creator_stops_earning_and_is_not_paid(e2e_bot, worker, sandbox, fakes, pool):
    youtube, _, cryptopay = fakes
    creator = await _creator(sandbox, pool, youtube, tier="gold")
    uid = creator.telegram_id
    cryptopay.state.known_users.add(uid)
    await store_rate(pool, asset="USDT", rate="95")
    earning = _new_video(youtube, creator, views=20_000)
    sandbox.state.user_sends_text(uid, f"https://youtu.be/{earning}")
    await sandbox.state.wait_for_message(uid, contains="+1,300.00 RUB", after=0, timeout=20)

    sandbox.state.user_sends_text(ADMIN_ID, "/user", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="@username")
    sandbox.state.user_sends_text(ADMIN_ID, f"@{creator.username}")
    profile = await sandbox.state.wait_for_message(ADMIN_ID, contains=str(uid))
    assert "1,300.00 RUB" in profile.text
    sandbox.state.user_presses_button(ADMIN_ID, profile.message_id, f"au:ban:{creator.id}")
    await sandbox.state.wait_for_edit(ADMIN_ID, profile.message_id, contains="blocked")
    await sandbox.state.wait_for_message(uid, contains="blocked", after=0, timeout=20)

    # the bot refuses new links and withdrawals
    sandbox.state.user_sends_text(uid, f"https://youtu.be/{_new_video(youtube, creator, views=9_000)}")
    await sandbox.state.wait_for_message(uid, contains="blocked")
    sandbox.state.user_sends_text(uid, "/withdraw")
    await sandbox.state.wait_for_message(uid, contains="on hold")

    # the actors stop too: more views earn nothing, a queued submission and a payout asked
    # for before the ban (Gold, under the automatic limit) go nowhere
    video = await _video_by_external_id(pool, earning)
    youtube.state.add_video(earning, views=80_000, channel_id=creator.channel_id)
    late = _new_video(youtube, creator, views=5_000)
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("600"), asset="USDT", request_id=f"t:{uid}"
        )
    send(CHECK_VIDEOS, [video.id], broker=worker.broker)
    send(SUBMIT_VIDEO, creator.id, f"https://youtu.be/{late}", f"t:{uid}:late", broker=worker.broker)
    send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
    await drain(worker, "submission", "parsing", "payouts", "notifications")
    async with pool.connection() as conn:
        checked = await videos.get(conn, video.id)
        waiting = await payouts.get(conn, payout.id)
        balances = await ledger.balances(conn, creator.id)
        assert await videos.find(conn, platform="youtube", external_id=late) is None
    assert checked.credited == Decimal("1300.00")
    assert balances.available == Decimal("700.00") and balances.reserved == Decimal("600.00")
    assert waiting.status == "requested" and cryptopay.state.transfers_for(waiting.spend_id) == []
    # clean up for later tests of the session, which share the payouts queue
    async with unit_of_work(pool) as conn:
        await payouts.transition(
            conn,
            payout_id=payout.id,
            to_status="rejected",
            from_statuses=("requested",),
            decided_by=ADMIN_ID,
            decision_reason="test",
        )


async def test_non_admin_is_refused_every_admin_command_and_button(e2e_bot, worker, sandbox, pool):
    creator = await _creator(sandbox, pool, balance="900")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("600"), asset="USDT", request_id=f"t:{creator.id}"
        )
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id=uuid.uuid4().hex[:11],
            user_id=creator.id,
            url=f"https://youtu.be/x{creator.id}",
            request_id=f"t:{creator.id}:v",
            status="pending_moderation",
        )
        snapshot, _ = await snapshots.insert(conn, video_id=video.id, views=90_000, taken_at=datetime.now(timezone.utc))
        hold = await trust_holds.hold_earning(
            conn,
            user_id=creator.id,
            video_id=video.id,
            snapshot_id=snapshot.id,
            amount=Decimal("5000"),
            views_before=10_000,
            views_now=90_000,
        )
    intruder = new_telegram_id()
    for text in (
        "/admin",
        "/moderation",
        "/payouts",
        "/review",
        "/user",
        "/broadcast",
        "/status",
        "🛠 Admin",
        "🛠 Админка",
    ):
        sandbox.state.user_sends_text(intruder, text, language_code="en")
        await sandbox.state.wait_for_message(intruder, contains=ADMIN_REFUSED)
    last = sandbox.state.messages_for(intruder)[-1]
    buttons = [f"am:{s}" for s in ("mod", "pay", "user", "bc", "st", "rev")] + [
        f"aq:{q}:0" for q in ("mod", "pay", "rev")
    ]
    buttons += [f"av:{a}:{video.id}" for a in ("ok", "no")] + [f"ap:{a}:{payout.id}" for a in ("ok", "no")]
    buttons += [f"ah:{a}:{hold.id}" for a in ("ok", "no", "allok", "allno")]
    buttons += [f"au:{a}:{creator.id}" for a in ("gold", "bronze", "ban", "unban")] + ["ab:0123456789ab"]
    for data in buttons:
        update = sandbox.state.user_sends_callback(intruder, last.message_id, data)
        answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
        assert answer["text"] == ADMIN_REFUSED and answer["show_alert"], data
    # a reason typed afterwards is just text, not a decision
    sandbox.state.user_sends_text(intruder, "approve everything")
    await sandbox.state.wait_for_message(intruder, contains="did not understand")
    await drain(worker, "parsing", "payouts", "notifications")
    async with pool.connection() as conn:
        assert (await videos.get(conn, video.id)).status == "pending_moderation"
        assert (await payouts.get(conn, payout.id)).status == "requested"
        assert (await trust_holds.get(conn, hold.id)).status == "held"
        assert (await ledger.balances(conn, creator.id)).held == Decimal("5000.00")
        after = await users.get(conn, creator.id)
        trail = await audit.recent(conn, admin_id=intruder)
    assert (after.tier, after.status) == ("bronze", "active") and trail == []
    assert len(sandbox.state.messages_for(creator.telegram_id)) == 1  # only the welcome
    async with unit_of_work(pool) as conn:  # leave the shared queues as they were
        await videos.set_status(
            conn,
            video_id=video.id,
            status="rejected",
            reason="test",
            from_statuses=("pending_moderation",),
            moderated_by=ADMIN_ID,
        )
        await payouts.transition(
            conn,
            payout_id=payout.id,
            to_status="rejected",
            from_statuses=("requested",),
            decided_by=ADMIN_ID,
            decision_reason="test",
        )
        await trust_holds.decide(conn, hold_id=hold.id, decision=trust_holds.REVERSE, admin_id=ADMIN_ID, reason="test")
