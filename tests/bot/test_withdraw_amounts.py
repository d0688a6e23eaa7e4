"""A creator types the amount as they would: one meaning gets the quote, more than one is asked back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.bot.conftest import store_rate
from tests.bot.test_money_and_admin import _creator
from zenith.storage import ledger, payouts


async def _type_amount(sandbox, uid: int, amount: str, *, language: str = "en"):
    """Open Withdraw, pick USDT, send ``amount``; return the bot's answer to it."""
    words = {
        "en": ("💸 Withdraw", "Which currency", "How many RUB"),
        "ru": ("💸 Вывод", "В какой валюте", "Сколько рублей"),
    }[language]
    sandbox.state.user_sends_text(uid, words[0])
    choose = await sandbox.state.wait_for_message(uid, contains=words[1], after=_last_id(sandbox, uid))
    sandbox.state.user_presses_button(uid, choose.message_id, "wa:USDT")
    asked = await sandbox.state.wait_for_message(uid, contains=words[2], after=choose.message_id)
    sandbox.state.user_sends_text(uid, amount)
    return await sandbox.state.wait_for_message(
        uid, after=asked.message_id + 1, predicate=lambda m: m.reply_markup is not None
    )


def _last_id(sandbox, uid: int) -> int:
    messages = sandbox.state.messages_for(uid)
    return messages[-1].message_id if messages else 0


@pytest.mark.parametrize(
    "typed, shown",
    [
        ("600", "600.00 RUB"),
        ("600.5", "600.50 RUB"),
        ("600,50", "600.50 RUB"),
        ("1 000", "1,000.00 RUB"),
        ("1 000,50", "1,000.50 RUB"),
        ("1.000,50", "1,000.50 RUB"),
        ("600р", "600.00 RUB"),
        ("600 ₽", "600.00 RUB"),
    ],
)
async def test_every_unambiguous_form_gets_the_quote_for_that_amount(bot, sandbox, pool, typed, shown):
    user = await _creator(sandbox, pool, balance="1300")
    await store_rate(pool, asset="USDT", rate="100")
    quote = await _type_amount(sandbox, user.telegram_id, typed)
    assert f"Withdraw {shown}" in quote.text
    assert any(data.startswith("wc:") for data in quote.callback_data())


async def test_more_than_two_decimals_is_asked_back_and_the_pressed_reading_is_reserved(bot, sandbox, pool):
    user = await _creator(sandbox, pool, balance="1300")
    await store_rate(pool, asset="USDT", rate="100")
    question = await _type_amount(sandbox, user.telegram_id, "600.123")
    assert "Did you mean 600.12 RUB or 600,123.00 RUB?" in question.text
    assert "Only" not in question.text
    choices = [data for data in question.callback_data() if data.startswith("wm:")]
    assert len(choices) == 2
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
    sandbox.state.user_presses_button(user.telegram_id, question.message_id, choices[0])
    quote = await sandbox.state.wait_for_message(user.telegram_id, contains="Please confirm", after=question.message_id)
    assert "600.12 RUB" in quote.text and "6.0012 USDT" in quote.text
    # the question's buttons are gone; pressing the other reading now does nothing
    update = sandbox.state.user_sends_callback(user.telegram_id, question.message_id, choices[1])
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer["text"] == "This button is no longer available."
    confirm = [data for data in quote.callback_data() if data.startswith("wc:")][0]
    sandbox.state.user_presses_button(user.telegram_id, quote.message_id, confirm)
    await sandbox.state.wait_for_message(user.telegram_id, contains="Payout #", after=quote.message_id)
    async with pool.connection() as conn:
        mine = await payouts.list_for_user(conn, user_id=user.id)
        balances = await ledger.balances(conn, user.id)
    assert [payout.amount_rub for payout in mine] == [Decimal("600.12")]
    assert balances.reserved == Decimal("600.12") and balances.available == Decimal("699.88")


async def test_thousands_reading_pressed_is_checked_against_the_balance(bot, sandbox, pool):
    user = await _creator(sandbox, pool, language="ru", balance="1300")
    await store_rate(pool, asset="USDT", rate="100")
    question = await _type_amount(sandbox, user.telegram_id, "600,123", language="ru")
    assert "Вы имели в виду 600,12 ₽ или 600 123,00 ₽?" in question.text.replace("\u00a0", " ").replace("\u202f", " ")
    choices = [data for data in question.callback_data() if data.startswith("wm:")]
    sandbox.state.user_presses_button(user.telegram_id, question.message_id, choices[1])
    refused = await sandbox.state.wait_for_message(
        user.telegram_id, contains="Доступно только", after=question.message_id
    )
    assert "1 300,00" in refused.text.replace("\u00a0", " ").replace("\u202f", " ")
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
        assert (await ledger.balances(conn, user.id)).reserved == 0


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("$600", "Withdrawals are entered in RUB.\nDid you mean 600.00 RUB?"),
        ("1,000", "Did you mean 1.00 RUB or 1,000.00 RUB?"),
    ],
)
async def test_dollars_and_a_possible_thousands_mark_are_asked_back(bot, sandbox, pool, typed, expected):
    user = await _creator(sandbox, pool, balance="1300")
    await store_rate(pool, asset="USDT", rate="100")
    question = await _type_amount(sandbox, user.telegram_id, typed)
    assert expected in question.text
    # typing the amount again instead of pressing works too
    sandbox.state.user_sends_text(user.telegram_id, "700")
    quote = await sandbox.state.wait_for_message(user.telegram_id, contains="Please confirm", after=question.message_id)
    assert "700.00 RUB" in quote.text
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
