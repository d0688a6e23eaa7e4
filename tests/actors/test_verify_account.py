"""verify_account through a real worker against the fake YouTube: the code found, the
code missing, the profile missing, the account verified by someone else first, and a
platform that keeps failing — each ends in a state and one clear notice."""

from __future__ import annotations

import asyncio
import uuid

from tests.actors.conftest import eventually, new_channel_id, send_with_retries
from zenith.domain.verification import generate_code
from zenith.messaging.contract import VERIFY_ACCOUNT, send
from zenith.storage import accounts


async def _pending(pool, user, channel: str, *, handle: str | None = None) -> accounts.PlatformAccount:
    async with pool.connection() as conn:
        return await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle=handle or f"chan{uuid.uuid4().hex[:8]}",
            verification_code=generate_code(),
            external_id=channel,
        )


async def _state(pool, account_id: int) -> accounts.PlatformAccount:
    async with pool.connection() as conn:
        return await accounts.get(conn, account_id)


async def _user_with_chat(make_user, state):
    user = await make_user(language="en")
    state.add_user(user.telegram_id)
    return user


async def test_the_code_in_the_description_verifies_the_account_once(
    running_worker, sandbox, fake_youtube, make_user, pool
):
    state, _ = sandbox
    user = await _user_with_chat(make_user, state)
    channel = new_channel_id()
    account = await _pending(pool, user, channel)
    fake_youtube.state.add_channel(
        channel, handle=account.handle, description=f"Cooking videos. {account.verification_code.lower()} ✨"
    )
    async with running_worker() as worker:
        for _ in range(2):  # delivered twice
            send(VERIFY_ACCOUNT, account.id, broker=worker.broker)
        await eventually(lambda: state.messages_for(user.telegram_id), what="the notice")
        await asyncio.sleep(1.5)
    assert (await _state(pool, account.id)).state == "verified"
    assert [m.text for m in state.messages_for(user.telegram_id)] == [
        f"✅ Account @{account.handle} verified. Its videos earn now."
    ]


async def test_a_missing_code_fails_the_check_with_a_notice(running_worker, sandbox, fake_youtube, make_user, pool):
    state, _ = sandbox
    user = await _user_with_chat(make_user, state)
    channel = new_channel_id()
    account = await _pending(pool, user, channel)
    fake_youtube.state.add_channel(channel, handle=account.handle, description="no code here")
    async with running_worker() as worker:
        send(VERIFY_ACCOUNT, account.id, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, timeout=15)
    checked = await _state(pool, account.id)
    assert (checked.state, checked.failure_reason) == ("failed", "code not found in the profile")
    assert message.text.startswith(f"The code was not found in @{account.handle}'s profile.")


async def test_a_profile_that_does_not_exist_is_told_as_not_found(running_worker, sandbox, make_user, pool):
    state, _ = sandbox
    user = await _user_with_chat(make_user, state)
    account = await _pending(pool, user, new_channel_id())  # the fake has no such channel
    async with running_worker() as worker:
        send(VERIFY_ACCOUNT, account.id, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, timeout=15)
    assert (await _state(pool, account.id)).state == "failed"
    assert message.text == f"Profile @{account.handle} was not found. Check the spelling and link the account again."


async def test_an_account_verified_by_another_user_is_refused(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    owner = await make_user()
    channel, handle = new_channel_id(), f"taken{uuid.uuid4().hex[:8]}"
    await make_verified_account(owner, "youtube", channel, handle=handle)
    claimant = await _user_with_chat(make_user, state)
    account = await _pending(pool, claimant, channel, handle=handle)
    # the claimant even managed to put their code in the description
    fake_youtube.state.add_channel(channel, handle=handle, description=account.verification_code)
    async with running_worker() as worker:
        send(VERIFY_ACCOUNT, account.id, broker=worker.broker)
        message = await state.wait_for_message(claimant.telegram_id, timeout=15)
    checked = await _state(pool, account.id)
    assert (checked.state, checked.failure_reason) == ("failed", "verified by another user")
    assert message.text == f"Account @{handle} is already verified by another user. If it is yours, contact support."


async def test_a_platform_error_is_retried_then_the_creator_is_told_and_nothing_changes(
    running_worker, sandbox, fake_youtube, make_user, pool, fast_platform_retries
):
    state, _ = sandbox
    user = await _user_with_chat(make_user, state)
    channel = new_channel_id()
    account = await _pending(pool, user, channel)
    fake_youtube.state.add_channel(channel, handle=account.handle, description=account.verification_code)
    fake_youtube.state.fail_next("500", times=1_000)
    try:
        async with running_worker() as worker:
            send_with_retries(worker.broker, VERIFY_ACCOUNT, account.id, max_retries=2)
            message = await state.wait_for_message(user.telegram_id, timeout=20)
            await asyncio.sleep(1.0)
    finally:
        fake_youtube.state.failures.clear()
    channel_calls = [c for c in fake_youtube.state.calls if c["path"] == "channels"]
    assert len(channel_calls) == 3 * 3  # 3 deliveries x 3 adapter attempts
    assert (await _state(pool, account.id)).state == "pending"  # still checkable
    assert (
        message.text
        == f"⏳ We could not reach the platform to check @{account.handle} right now. Press “Check” again in a few minutes."
    )
    assert len(state.messages_for(user.telegram_id)) == 1
