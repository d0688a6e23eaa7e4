"""Without CRYPTO_PAY_TOKEN no rate ever arrives: withdrawing says payouts are off and reserves nothing."""

from __future__ import annotations

from decimal import Decimal

from tests.bot.conftest import queued, store_rate
from tests.bot.test_money_and_admin import _creator
from zenith.storage import ledger, payouts


async def _bot_without_cryptopay(make_bot, make_settings, bot_env):
    return await make_bot(settings=make_settings(**{**bot_env, "CRYPTO_PAY_TOKEN": ""}))


async def test_withdraw_without_cryptopay_says_unavailable_and_shows_balance(
    make_bot, make_settings, bot_env, sandbox, pool, redis, namespace
):
    await _bot_without_cryptopay(make_bot, make_settings, bot_env)
    user = await _creator(sandbox, pool, balance="1500")
    # even a fresh rate does not make payouts possible without Crypto Pay
    await store_rate(pool, asset="USDT", rate="95.5")
    sandbox.state.user_sends_text(user.telegram_id, "💸 Withdraw")
    reply = await sandbox.state.wait_for_message(user.telegram_id, contains="temporarily unavailable")
    assert "1,500.00 RUB" in reply.text and "Nothing was reserved" in reply.text
    assert reply.reply_markup is None or "wa:" not in str(reply.reply_markup)
    sandbox.state.user_sends_text(user.telegram_id, "/withdraw")
    await sandbox.state.wait_for_message(user.telegram_id, contains="temporarily unavailable", after=reply.message_id)
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
        balances = await ledger.balances(conn, user.id)
    assert balances.available == Decimal("1500") and balances.reserved == 0
    assert await queued(redis, namespace, "payouts") == []


async def test_withdraw_unavailable_in_russian_even_below_minimum(make_bot, make_settings, bot_env, sandbox, pool):
    await _bot_without_cryptopay(make_bot, make_settings, bot_env)
    user = await _creator(sandbox, pool, language="ru", balance="120")
    sandbox.state.user_sends_text(user.telegram_id, "💸 Вывод")
    reply = await sandbox.state.wait_for_message(user.telegram_id, contains="Выплаты временно недоступны")
    assert "120,00 ₽" in reply.text


async def test_confirm_of_a_quote_made_before_cryptopay_was_removed_reserves_nothing(
    make_bot, make_settings, bot_env, sandbox, pool, redis, namespace
):
    # the quote is made by a bot with Crypto Pay; the FSM state (in Redis) outlives a restart without it
    configured = await make_bot()
    user = await _creator(sandbox, pool, balance="2000")
    await store_rate(pool, asset="USDT", rate="95.5")
    from tests.bot.test_money_and_admin import _withdraw

    quote = await _withdraw(sandbox, user.telegram_id, amount="1000")
    confirm = [data for data in quote.callback_data() if data.startswith("wc:")][0]
    await configured.dispatcher.stop_polling()
    await _bot_without_cryptopay(make_bot, make_settings, bot_env)
    sandbox.state.user_presses_button(user.telegram_id, quote.message_id, confirm)
    await sandbox.state.wait_for_message(user.telegram_id, contains="temporarily unavailable", after=quote.message_id)
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
        assert (await ledger.balances(conn, user.id)).reserved == 0
    assert await queued(redis, namespace, "payouts") == []
