"""Admin queues page past the 5 oldest items: ‹ Previous / Next ›, admins only.

The session database is shared, so the queues may hold other tests' items before ours:
the walk goes through every page and checks ours appear once each, in order.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.bot.conftest import ADMIN_ID, new_telegram_id
from tests.bot.test_money_and_admin import _creator, _video
from zenith.storage import payouts, videos
from zenith.storage.db import unit_of_work

QUEUES = {
    # queue: (command, callback prefix, card id pattern, header)
    "pay": ("/payouts", "aq:pay", re.compile(r"^Payout #(\d+) "), "Payouts awaiting approval"),
    "mod": ("/moderation", "aq:mod", re.compile(r"^Video #(\d+) "), "Moderation"),
}


async def _waiting_items(sandbox, pool, queue: str, *, count: int) -> list[int]:
    ids = []
    creator = await _creator(sandbox, pool, balance=str(600 * count))
    for index in range(count):
        async with unit_of_work(pool) as conn:
            if queue == "pay":
                payout, _ = await payouts.create_requested(
                    conn,
                    user_id=creator.id,
                    amount_rub=Decimal("500"),
                    asset="USDT",
                    request_id=f"page:{creator.id}:{index}",
                )
                ids.append(payout.id)
        if queue == "mod":
            ids.append((await _video(pool, creator)).id)
    return ids


async def _decide_all(pool, queue: str, ids: list[int]) -> None:
    """Leave the shared queues as they were for the tests after this one."""
    async with unit_of_work(pool) as conn:
        for item_id in ids:
            if queue == "pay":
                await payouts.transition(
                    conn,
                    payout_id=item_id,
                    to_status="rejected",
                    from_statuses=("requested",),
                    decided_by=ADMIN_ID,
                    decision_reason="test",
                )
            else:
                await videos.set_status(
                    conn,
                    video_id=item_id,
                    status="rejected",
                    reason="test",
                    from_statuses=("pending_moderation",),
                    moderated_by=ADMIN_ID,
                )


def _page_after(sandbox, floor: int, pattern) -> list[int]:
    """Ids on the cards the bot sent after message `floor`."""
    found = []
    for message in sandbox.state.messages_for(ADMIN_ID):
        match = pattern.match(message.content or "")
        if message.message_id > floor and match:
            found.append(int(match.group(1)))
    return found


@pytest.mark.parametrize("queue", ["pay", "mod"])
async def test_admin_pages_forward_and_back_through_a_queue(bot, sandbox, pool, queue):
    command, prefix, pattern, title = QUEUES[queue]
    ours = await _waiting_items(sandbox, pool, queue, count=7)
    try:
        sandbox.state.user_sends_text(ADMIN_ID, command, language_code="en")
        header = await sandbox.state.wait_for_message(ADMIN_ID, contains=title)
        total = int(re.search(r"([\d,]+) waiting", header.text).group(1).replace(",", ""))
        pages = -(-total // 5)
        assert total >= 7 and pages >= 2 and "Below: 1–5." in header.text
        nav = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Page 1/{pages}")
        assert nav.callback_data() == [f"{prefix}:1"]  # no "previous" on the first page
        seen = {0: _page_after(sandbox, header.message_id, pattern)}
        for page in range(1, pages):
            sandbox.state.user_presses_button(ADMIN_ID, nav.message_id, f"{prefix}:{page}")
            pressed = nav
            nav = await sandbox.state.wait_for_message(
                ADMIN_ID, contains=f"Page {page + 1}/{pages}", after=pressed.message_id
            )
            seen[page] = _page_after(sandbox, pressed.message_id, pattern)
            # the pressed row is closed, so an old page's buttons do not pile up
            assert sandbox.state.messages_for(ADMIN_ID)[-1].message_id == nav.message_id
            assert not [m for m in sandbox.state.messages_for(ADMIN_ID) if m.message_id == pressed.message_id][
                0
            ].callback_data()
        assert nav.callback_data() == [f"{prefix}:{pages - 2}"]  # no "next" on the last page
        shown = [item for page in range(pages) for item in seen[page]]
        assert all(len(seen[page]) == 5 for page in range(pages - 1)) and 1 <= len(seen[pages - 1]) <= 5
        assert len(shown) == total and len(set(shown)) == total  # every waiting item once
        assert [item for item in shown if item in ours] == ours  # oldest first

        # previous from the last page shows the page before it again
        sandbox.state.user_presses_button(ADMIN_ID, nav.message_id, f"{prefix}:{pages - 2}")
        back = await sandbox.state.wait_for_message(
            ADMIN_ID, contains=f"Page {pages - 1}/{pages}", after=nav.message_id
        )
        assert _page_after(sandbox, nav.message_id, pattern) == seen[pages - 2]
        back_header = await sandbox.state.wait_for_message(ADMIN_ID, contains=title, after=nav.message_id)
        assert f"Below: {(pages - 2) * 5 + 1}–{(pages - 1) * 5}." in back_header.text

        # a page past the end (the queue shrank meanwhile, or forged data) shows the last page
        sandbox.state.user_sends_callback(ADMIN_ID, back.message_id, f"{prefix}:999")
        await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Page {pages}/{pages}", after=back.message_id)
        assert _page_after(sandbox, back.message_id, pattern) == seen[pages - 1]
    finally:
        await _decide_all(pool, queue, ours)


async def test_queue_pages_are_for_admins_only(bot, sandbox, pool):
    ours = await _waiting_items(sandbox, pool, "pay", count=6)
    try:
        stranger = new_telegram_id()
        sandbox.state.user_sends_text(stranger, "/start", language_code="en")
        hello = await sandbox.state.wait_for_message(stranger, contains="Hi")
        for data in ("aq:pay:1", "aq:mod:0"):
            update = sandbox.state.user_sends_callback(stranger, hello.message_id, data)
            answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
            assert answer["text"] == "This command is for admins only."
        assert not [m for m in sandbox.state.messages_for(stranger) if m.message_id > hello.message_id]
    finally:
        await _decide_all(pool, "pay", ours)
