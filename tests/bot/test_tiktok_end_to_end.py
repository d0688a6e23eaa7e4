"""TikTok as a creator meets it, end to end: the bot, the real actors and the fake TikTok.

A creator verifies a TikTok account (code in the bio), submits a link that carries no
author (``m.tiktok.com/v/ID.html``) and is shown the video under the author TikTok
reports; photo posts are named as such and refused unless PAY_TIKTOK_PHOTO_POSTS is on.
"""

from __future__ import annotations

import random
import uuid

from tests.bot.conftest import new_telegram_id, queued, wait_until
from zenith.storage import accounts, users, videos
from zenith.storage.db import unit_of_work


def _tiktok_id() -> str:
    return str(random.randrange(7 * 10**18, 8 * 10**18))


async def test_creator_verifies_tiktok_and_a_link_without_author_is_shown_with_it(
    e2e_bot, worker, sandbox, fakes, pool
):
    _, tiktok, _ = fakes
    state = sandbox.state
    uid = new_telegram_id()
    handle = f"tt_{uuid.uuid4().hex[:10]}"
    tiktok_user_id = _tiktok_id()
    video_id = _tiktok_id()

    state.user_sends_text(uid, "/start", first_name="Tik", language_code="en")
    await state.wait_for_message(uid, contains="Hi")
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        await users.set_tier(conn, user_id=user.id, tier="gold")

    state.user_sends_text(uid, "/accounts")
    listing = await state.wait_for_message(uid, contains="No linked accounts")
    state.user_presses_button(uid, listing.message_id, "acc:add:tiktok:0")
    await state.wait_for_message(uid, contains="Send your TikTok")
    state.user_sends_text(uid, f"@{handle}")
    code_message = await state.wait_for_message(uid, contains="Verification code")
    assert "your TikTok profile bio" in code_message.text
    code = code_message.text.split("\n\n")[1].strip()

    # "Check" before the code is in the bio: not verified, told why
    tiktok.state.add_user(handle, user_id=tiktok_user_id, bio="just dancing")
    state.user_presses_button(uid, code_message.message_id, code_message.callback_data()[0])
    failed = await state.wait_for_message(uid, contains="was not found in", after=code_message.message_id, timeout=30)
    assert f"@{handle}" in failed.text
    async with pool.connection() as conn:
        assert await accounts.list_verified(conn, user_id=user.id) == []

    tiktok.state.add_user(handle, user_id=tiktok_user_id, bio=f"just dancing {code}")
    state.user_presses_button(uid, code_message.message_id, code_message.callback_data()[0])
    verified = await state.wait_for_message(uid, contains="verified", after=failed.message_id, timeout=30)
    assert f"@{handle}" in verified.text and "Its videos earn now" in verified.text
    async with pool.connection() as conn:
        (account,) = await accounts.list_verified(conn, user_id=user.id)
    assert (account.platform, account.handle, account.external_id) == ("tiktok", handle, tiktok_user_id)

    # a link without the author: the notice and the stored video name the author TikTok reports
    tiktok.state.add_video(video_id, views=500, author=handle, author_id=tiktok_user_id)
    state.user_sends_text(uid, f"https://m.tiktok.com/v/{video_id}.html")
    await state.wait_for_message(uid, contains="1 link accepted")
    shown = f"https://www.tiktok.com/@{handle}/video/{video_id}"
    approved = await state.wait_for_message(uid, contains="Video approved", timeout=30)
    assert shown in approved.text and "/@/video/" not in approved.text
    async with pool.connection() as conn:
        stored = await videos.find(conn, platform="tiktok", external_id=video_id)
    assert stored.url == shown and stored.author == handle and stored.account_id == account.id


async def test_photo_posts_are_named_and_refused_by_default_in_both_languages(bot, sandbox, redis, namespace):
    post = f"https://www.tiktok.com/@some.creator/photo/{_tiktok_id()}"
    for language, words in (
        ("en", "a TikTok photo post (a slideshow of pictures), not a video"),
        ("ru", "это фотопост TikTok (слайд-шоу из картинок), а не видео"),
    ):
        uid = new_telegram_id()
        sandbox.state.user_sends_text(uid, post, language_code=language)
        reply = await sandbox.state.wait_for_message(uid, contains=words)
        assert "profile, channel or playlist" not in reply.text and "профиль" not in reply.text
    assert [m for m in await queued(redis, namespace, "submission") if m.actor_name == "submit_video"] == []


async def test_photo_posts_are_submitted_when_they_are_paid_for(
    make_bot, make_settings, bot_env, sandbox, redis, namespace
):
    await make_bot(settings=make_settings(**{**bot_env, "PAY_TIKTOK_PHOTO_POSTS": "true"}))
    post_id = _tiktok_id()
    uid = new_telegram_id()
    sandbox.state.user_sends_text(
        uid, f"https://www.tiktok.com/@Some.Creator/photo/{post_id}?lang=en", language_code="en"
    )
    await sandbox.state.wait_for_message(uid, contains="1 link accepted")

    async def submitted():
        return [m for m in await queued(redis, namespace, "submission") if m.actor_name == "submit_video"]

    (message,) = await wait_until(submitted)
    assert message.args[1] == f"https://www.tiktok.com/@some.creator/photo/{post_id}"
