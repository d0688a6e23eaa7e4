"""Registration, menu, help, language and tier through the sandbox."""

from __future__ import annotations

from tests.bot.conftest import new_telegram_id
from zenith.storage import users


async def test_start_registers_and_explains_rates(bot, sandbox, pool):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Анна", language_code="ru")
    reply = await sandbox.state.wait_for_message(uid, contains="Привет")
    assert "Анна" in reply.text and "65,00 ₽" in reply.text and "1 000" in reply.text and "500,00 ₽" in reply.text
    keyboard = sandbox.state.reply_keyboard(uid)
    labels = [button["text"] for row in keyboard["keyboard"] for button in row]
    assert "💰 Баланс" in labels and "🛠 Админка" not in labels
    async with pool.connection() as conn:
        user = await users.find_by_telegram_id(conn, uid)
    assert user is not None and user.language == "ru" and user.tier == "bronze"


async def test_english_client_gets_english_and_can_switch(bot, sandbox, pool):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Bob", language_code="en-GB")
    await sandbox.state.wait_for_message(uid, contains="Rates per 1,000 views")
    sandbox.state.user_sends_text(uid, "🌐 Language")
    menu = await sandbox.state.wait_for_message(uid, contains="Choose your language")
    sandbox.state.user_presses_button(uid, menu.message_id, "lang:ru")
    await sandbox.state.wait_for_message(uid, contains="язык — русский")
    async with pool.connection() as conn:
        assert (await users.find_by_telegram_id(conn, uid)).language == "ru"
    sandbox.state.user_sends_text(uid, "❓ Помощь")
    await sandbox.state.wait_for_message(uid, contains="USDT, TON")


async def test_admin_sees_admin_button(bot, sandbox):
    from tests.bot.conftest import ADMIN_ID

    sandbox.state.user_sends_text(ADMIN_ID, "/start", first_name="Admin", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="Hi")
    labels = [b["text"] for row in sandbox.state.reply_keyboard(ADMIN_ID)["keyboard"] for b in row]
    assert "🛠 Admin" in labels
    sandbox.state.user_sends_text(ADMIN_ID, "/help")
    assert "/moderation" in (await sandbox.state.wait_for_message(ADMIN_ID, contains="For admins")).text


async def test_creator_help_lists_what_the_bot_does(bot, sandbox):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/help", language_code="en")
    reply = await sandbox.state.wait_for_message(uid, contains="Help")
    assert "/withdraw" in reply.text and "USDT, TON" in reply.text and "For admins" not in reply.text


async def test_tier_screen(bot, sandbox):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/tier", language_code="en")
    reply = await sandbox.state.wait_for_message(uid, contains="Bronze")
    assert "moderated" in reply.text
