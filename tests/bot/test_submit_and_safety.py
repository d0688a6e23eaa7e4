"""Submitting links, junk input, flooding, re-delivered updates, tampered buttons, admin refusal."""

from __future__ import annotations

import asyncio

from tests.bot.conftest import ADMIN_ID, new_telegram_id, queued, wait_until

YT = "https://youtu.be/dQw4w9WgXcQ"
TT = "https://www.tiktok.com/@creator/video/7234567890123456789"


async def _submissions(redis, namespace):
    return [m for m in await queued(redis, namespace, "submission") if m.actor_name == "submit_video"]


async def test_links_are_submitted_with_stable_request_ids_and_reasons(bot, sandbox, pool, redis, namespace):
    uid = new_telegram_id()
    update = sandbox.state.user_sends_text(
        uid, f"вот мои видео: {YT} и {TT}, а ещё https://youtube.com.evil.com/watch?v=dQw4w9WgXcQ", language_code="ru"
    )
    reply = await sandbox.state.wait_for_message(uid, contains="Принято 2 ссылки")
    assert "поддерживаются только TikTok, YouTube и Instagram Reels" in reply.text
    # no verified account yet: told at once that these videos will not earn
    assert "Сначала привяжите и подтвердите аккаунт" in reply.text
    sent = await wait_until(lambda: _count(redis, namespace, 2))
    message_id = update["message"]["message_id"]
    async with pool.connection() as conn:
        from zenith.storage import users

        user = await users.find_by_telegram_id(conn, uid)
    # built from users.id: the Telegram id appears nowhere in the message; no campaign joined: none picked
    assert sorted(tuple(m.args[1:]) for m in sent) == sorted(
        [
            ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", f"{user.id}:{message_id}:0", None),
            ("https://www.tiktok.com/@creator/video/7234567890123456789", f"{user.id}:{message_id}:1", None),
        ]
    )
    assert {m.args[0] for m in sent} == {user.id}
    assert not any(str(uid) in repr(m.args) for m in sent)


async def _count(redis, namespace, n):
    found = await _submissions(redis, namespace)
    return found if len(found) >= n else None


async def test_redelivered_update_is_handled_once(bot, sandbox, redis, namespace):
    uid = new_telegram_id()
    update = sandbox.state.user_sends_text(uid, YT, language_code="en")
    await sandbox.state.wait_for_message(uid, contains="1 link accepted")
    # Telegram delivers the very same update again (lost webhook answer, polling restart)
    await bot.dispatcher.feed_raw_update(bot.bot, update)
    await asyncio.sleep(0.3)
    assert len(await _submissions(redis, namespace)) == 1
    replies = [m for m in sandbox.state.messages_for(uid) if "accepted" in m.content]
    assert len(replies) == 1


async def test_every_reject_reason_is_explained(bot, sandbox):
    uid = new_telegram_id()
    cases = {
        "https://www.youtube.com/@somechannel": "not a video link",
        "ftp://youtube.com/watch?v=dQw4w9WgXcQ": "must start with http",
        "https://user@youtube.com/watch?v=dQw4w9WgXcQ": "login/password",
        "https://youtube.com:8443/watch?v=dQw4w9WgXcQ": "non-standard port",
        "https://youtu.be/short": "invalid video id",
        "https://example.com/video/1": "only TikTok, YouTube and Instagram Reels",
    }
    for link, reason in cases.items():
        sandbox.state.user_sends_text(uid, link, language_code="en")
        reply = await sandbox.state.wait_for_message(uid, contains="Not accepted")
        assert reason in reply.text, (link, reply.text)


async def test_junk_huge_and_unicode_messages_get_polite_answers(bot, sandbox, redis, namespace):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "привет 👋 <b>жирный</b> & ©", language_code="ru")
    reply = await sandbox.state.wait_for_message(uid, contains="Не понял")
    assert reply.text
    sandbox.state.user_sends_text(uid, "x" * 5000, language_code="ru")
    await sandbox.state.wait_for_message(uid, contains="слишком длинное")
    sandbox.state.user_sends_text(
        uid, " ".join(f"https://youtu.be/{'a' * 9}{i:02d}" for i in range(30)), language_code="ru"
    )
    reply = await sandbox.state.wait_for_message(uid, contains="10")
    assert "Принято 10 ссылок" in reply.text and "только первые 10 ссылок" in reply.text
    sandbox.state.user_sends_text(uid, "https://уоutube.com/watch?v=dQw4w9WgXcQ", language_code="ru")
    reply = await sandbox.state.wait_for_message(uid, contains="Не принято")
    assert len(await _submissions(redis, namespace)) == 10


async def test_flood_gets_one_slow_down_and_no_extra_work(make_bot, sandbox, redis, namespace):
    await make_bot(throttle_limit=3, throttle_window_seconds=60)
    uid = new_telegram_id()
    for index in range(8):
        sandbox.state.user_sends_text(uid, f"https://youtu.be/{'b' * 10}{index}", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Too many messages", after=0)
    await asyncio.sleep(0.5)
    texts = [m.content for m in sandbox.state.messages_for(uid)]
    assert sum("Too many messages" in t for t in texts) == 1
    assert sum("accepted" in t for t in texts) == 3
    assert len(await _submissions(redis, namespace)) == 3


async def test_throttle_limit_zero_lets_every_message_through(make_bot, sandbox):
    """BOT_THROTTLE_LIMIT=0 leaves the per-user throttle out (benchmarks measure the bot, not it)."""
    await make_bot(throttle_limit=0, throttle_window_seconds=60)
    uid = new_telegram_id()
    for _ in range(12):
        sandbox.state.user_sends_text(uid, "/help", language_code="en")

    async def all_answered() -> bool:
        return len(sandbox.state.messages_for(uid)) >= 12

    await wait_until(all_answered, timeout=30)
    await asyncio.sleep(0.3)
    texts = [m.content for m in sandbox.state.messages_for(uid)]
    assert not any("Too many messages" in t for t in texts)
    assert len(texts) == 12


async def test_forged_and_foreign_callbacks_do_nothing(bot, sandbox, pool, redis, namespace):
    owner, intruder = new_telegram_id(), new_telegram_id()
    sandbox.state.user_sends_text(owner, "/accounts", language_code="en")
    await sandbox.state.wait_for_message(owner, contains="No linked accounts")
    sandbox.state.user_sends_text(owner, "/start", language_code="en")
    menu = await sandbox.state.wait_for_message(owner, contains="Hi")
    # the owner links an account and gets a Check button with its id
    sandbox.state.user_sends_text(owner, "/accounts", language_code="en")
    listing = await sandbox.state.wait_for_message(owner, contains="No linked accounts")
    sandbox.state.user_presses_button(owner, listing.message_id, "acc:add:tiktok:0")
    await sandbox.state.wait_for_message(owner, contains="Send your TikTok")
    sandbox.state.user_sends_text(owner, "@owner_handle", language_code="en")
    code_message = await sandbox.state.wait_for_message(owner, contains="Verification code")
    check_data = code_message.callback_data()[0]
    assert check_data.startswith("acc:check:tiktok:")
    # the intruder replays that callback data from their own chat
    sandbox.state.user_sends_text(intruder, "/start", language_code="en")
    own = await sandbox.state.wait_for_message(intruder, contains="Hi")
    for data in (
        check_data,
        "v:1:0",
        "v:999999999:0",
        "ap:ok:1",
        "garbage",
        "acc:check:tiktok:-5",
        "vl:-1",
        "wc:deadbeef",
        "x" * 64,
    ):
        update = sandbox.state.user_sends_callback(intruder, own.message_id, data)
        answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
        assert answer["show_alert"] and answer["text"] in {
            "This button is no longer available.",
            "This command is for admins only.",
        }, (data, answer)
    await asyncio.sleep(0.2)
    assert [m for m in await queued(redis, namespace, "submission") if m.actor_name == "verify_account"] == []
    # the owner's own press works and queues exactly one verification
    update = sandbox.state.user_presses_button(owner, code_message.message_id, check_data)
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert "Checking @owner_handle" in answer["text"]
    verifications = [m for m in await queued(redis, namespace, "submission") if m.actor_name == "verify_account"]
    assert [m.args for m in verifications] == [[int(check_data.rsplit(":", 1)[1])]]
    assert menu


async def test_non_admin_is_refused_admin_commands_and_buttons(bot, sandbox, redis, namespace):
    uid = new_telegram_id()
    for command in ("/admin", "/moderation", "/payouts", "/broadcast", "/status", "/user", "/review"):
        sandbox.state.user_sends_text(uid, command, language_code="en")
        await sandbox.state.wait_for_message(uid, contains="for admins only")
    sandbox.state.user_sends_text(uid, "🛠 Admin", language_code="en")
    last = await sandbox.state.wait_for_message(uid, contains="for admins only")
    for data in (
        "am:mod",
        "am:rev",
        "av:ok:1",
        "av:no:1",
        "ap:ok:1",
        "ah:ok:1",
        "ah:no:1",
        "ah:allok:1",
        "ah:allno:1",
        "aq:rev:1",
        "au:gold:1",
        "au:ban:1",
        "ab:abc",
    ):
        update = sandbox.state.user_sends_callback(uid, last.message_id, data)
        answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
        assert answer["text"] == "This command is for admins only."
    assert await queued(redis, namespace, "parsing") == []
    assert await queued(redis, namespace, "notifications") == []
    # the admin gets the panel
    sandbox.state.user_sends_text(ADMIN_ID, "/admin", language_code="en")
    panel = await sandbox.state.wait_for_message(ADMIN_ID, contains="Admin")
    assert "am:mod" in panel.callback_data()


async def test_unknown_sticker_like_updates_do_not_break(bot, sandbox):
    uid = new_telegram_id()
    sandbox.state.user_sends_photo(uid, b"\x89PNG\r\n\x1a\n" + b"0" * 100, caption=None)
    reply = await sandbox.state.wait_for_message(uid, timeout=10)
    assert "did not understand" in reply.text or "Не понял" in reply.text, reply.text
