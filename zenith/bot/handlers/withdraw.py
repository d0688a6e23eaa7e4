"""Withdraw: asset -> amount -> quote at the current rate -> confirm -> payout with its reservation."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces, pressed
from zenith.bot.amounts import AmountAmbiguous, AmountNotUnderstood, read_amount
from zenith.bot.callbacks import WithdrawAmountCb, WithdrawAssetCb, WithdrawConfirmCb
from zenith.bot.filters import HasText
from zenith.bot.keyboards.inline import amount_choices_keyboard, assets_keyboard, cancel_keyboard, confirm_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.bot.states import Withdraw
from zenith.config import Settings
from zenith.domain.money import convert_rub_to_asset
from zenith.domain.payouts import WithdrawalRejected, WithdrawalRejectReason, needs_admin_approval, validate_withdrawal
from zenith.domain.trust import TrustPolicy
from zenith.i18n import Translator
from zenith.messaging.contract import PROCESS_PAYOUT
from zenith.storage import ledger, payouts, rates, trust_signals
from zenith.storage.users import User

logger = logging.getLogger(__name__)

router = Router(name=__name__)

_REASON_KEYS = {
    WithdrawalRejectReason.BAD_AMOUNT: "withdraw.not_a_number",
    WithdrawalRejectReason.NOT_POSITIVE: "withdraw.not_a_number",
    WithdrawalRejectReason.BELOW_MINIMUM: "withdraw.below_min",
    WithdrawalRejectReason.ABOVE_AVAILABLE: "withdraw.above_available",
    WithdrawalRejectReason.UNKNOWN_ASSET: "common.not_available",
}


class RateUnavailable(Exception):
    """No rate for the asset, or the latest one is older than RATE_MAX_AGE_SECONDS."""


def payouts_configured(settings: Settings) -> bool:
    """Crypto Pay is set up (CRYPTO_PAY_TOKEN): without it no rate ever arrives and nothing is sent."""
    return bool(settings.crypto_pay_token)


async def _fresh_rate(services: BotServices, *, asset: str) -> rates.CachedRate:
    """The asset's rate as the rates actor cached it in Redis (else the latest stored), if fresh enough."""
    async with asyncio.timeout(services.db_timeout):
        rate = await rates.current(services.redis, services.pool, services.settings.redis_namespace, source=asset)
    if rate is None:
        raise RateUnavailable(asset)
    age = (datetime.now(timezone.utc) - rate.fetched_at).total_seconds()
    if age > services.settings.rate_max_age_seconds:
        raise RateUnavailable(f"{asset} rate is {age:.0f}s old")
    return rate


async def _refuse_unconfigured(
    message: Message, *, user: User, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    """Leave the dialog and say payouts are off, with the balance (nothing reserved)."""
    await state.clear()
    async with services.read() as conn:
        balances = await ledger.balances(conn, user.id)
    await message.answer(i18n("withdraw.unavailable", available=balances.available, reserved=balances.reserved))


@router.message(Command("withdraw"))
@router.message(menu_button("menu.withdraw"))
async def start_withdrawal(
    message: Message, user: User, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    if not user.is_active:
        await message.answer(i18n("withdraw.banned"))
        return
    async with services.read() as conn:
        balances = await ledger.balances(conn, user.id)
    if not payouts_configured(services.settings):
        # "rates are updating" would never come true: say plainly that payouts are off, reserve nothing
        await message.answer(i18n("withdraw.unavailable", available=balances.available, reserved=balances.reserved))
        return
    minimum = services.settings.payout_min_rub
    if balances.available < minimum:
        await message.answer(i18n("withdraw.too_little", minimum=minimum, available=balances.available))
        return
    await state.set_state(Withdraw.asset)
    await message.answer(
        i18n("withdraw.choose_asset", available=balances.available),
        reply_markup=assets_keyboard(i18n, assets=services.settings.payout_assets),
    )


@router.callback_query(Withdraw.asset, WithdrawAssetCb.filter())
async def choose_asset(
    query: CallbackQuery,
    callback_data: WithdrawAssetCb,
    user: User,
    i18n: Translator,
    services: BotServices,
    state: FSMContext,
) -> None:
    if callback_data.asset not in services.settings.payout_assets:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return
    async with services.read() as conn:
        balances = await ledger.balances(conn, user.id)
    await state.set_state(Withdraw.amount)
    await state.update_data(asset=callback_data.asset)
    await query.answer()
    minimum = services.settings.payout_min_rub
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        i18n(
            "withdraw.ask_amount",
            asset=callback_data.asset,
            minimum=minimum,
            available=balances.available,
            example=str(int(minimum)),
        ),
        reply_markup=cancel_keyboard(i18n),
    )


@router.message(Withdraw.amount, HasText())
async def enter_amount(
    message: Message, user: User, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    if not payouts_configured(services.settings):
        await _refuse_unconfigured(message, user=user, i18n=i18n, services=services, state=state)
        return
    try:
        amount = read_amount(message.text or "")
    except AmountNotUnderstood:
        await message.answer(i18n("withdraw.not_a_number"), reply_markup=cancel_keyboard(i18n))
        return
    except AmountAmbiguous as doubt:
        await _ask_which_amount(message, doubt, i18n=i18n, state=state)
        return
    await _quote(message, amount, user=user, i18n=i18n, services=services, state=state)


@router.callback_query(Withdraw.amount, WithdrawAmountCb.filter())
async def choose_amount(
    query: CallbackQuery,
    callback_data: WithdrawAmountCb,
    user: User,
    i18n: Translator,
    services: BotServices,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    choices = data.get("amount_choices") or []
    # the nonce ties the press to the question shown; an old or forged button does nothing
    if not nonces.matches(data.get("choice_nonce"), callback_data.nonce) or not 0 <= callback_data.index < len(choices):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.update_data(amount_choices=None, choice_nonce=None)
    if not payouts_configured(services.settings):
        await _refuse_unconfigured(message, user=user, i18n=i18n, services=services, state=state)
        return
    await _quote(message, Decimal(choices[callback_data.index]), user=user, i18n=i18n, services=services, state=state)


async def _ask_which_amount(message: Message, doubt: AmountAmbiguous, *, i18n: Translator, state: FSMContext) -> None:
    """Ask back with a button per reading ("600.12 RUB" / "600,123.00 RUB"); typing again works too."""
    nonce = nonces.new_nonce()
    await state.update_data(amount_choices=[str(choice) for choice in doubt.choices], choice_nonce=nonce)
    if len(doubt.choices) > 1:
        question = i18n("withdraw.did_you_mean_two", first=doubt.choices[0], second=doubt.choices[1])
    else:
        question = i18n("withdraw.did_you_mean_one", amount=doubt.choices[0])
    if doubt.foreign_currency:
        question = f"{i18n('withdraw.amounts_in_rub')}\n{question}"
    await message.answer(question, reply_markup=amount_choices_keyboard(i18n, nonce=nonce, choices=doubt.choices))


async def _quote(
    message: Message, amount: Decimal, *, user: User, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    """Check ``amount`` against the balance and the rules, then show the quote with Confirm."""
    asset = (await state.get_data()).get("asset", "")
    settings = services.settings
    async with services.read() as conn:
        balances = await ledger.balances(conn, user.id)
        try:
            withdrawal = validate_withdrawal(
                amount_rub=str(amount),
                available=balances.available,
                minimum=settings.payout_min_rub,
                asset=asset,
                allowed_assets=settings.payout_assets,
            )
            rate = await _fresh_rate(services, asset=asset)
        except WithdrawalRejected as exc:
            await message.answer(
                i18n(_REASON_KEYS[exc.reason], minimum=settings.payout_min_rub, available=balances.available),
                reply_markup=cancel_keyboard(i18n),
            )
            return
        except RateUnavailable:
            logger.warning("withdrawal quote refused: %s rate missing or stale", asset)
            await message.answer(i18n("withdraw.rates_stale"), reply_markup=cancel_keyboard(i18n))
            return
    converted = convert_rub_to_asset(
        amount_rub=withdrawal.amount_rub, rate_rub_per_asset=rate.rate, asset=withdrawal.asset
    )
    nonce = nonces.new_nonce()
    await state.set_state(Withdraw.confirm)
    await state.update_data(asset=withdrawal.asset, amount=str(withdrawal.amount_rub), nonce=nonce)
    await message.answer(
        i18n(
            "withdraw.quote",
            amount=withdrawal.amount_rub,
            asset_amount=converted,
            asset=withdrawal.asset,
            rate=rate.rate,
            rate_time=rate.fetched_at.astimezone(timezone.utc),
        ),
        reply_markup=confirm_keyboard(i18n, nonce=nonce),
    )


@router.callback_query(Withdraw.confirm, WithdrawConfirmCb.filter())
async def confirm_withdrawal(
    query: CallbackQuery,
    callback_data: WithdrawConfirmCb,
    user: User,
    i18n: Translator,
    services: BotServices,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    # the nonce ties the press to the quote shown; an old or forged button does nothing
    if not nonces.matches(data.get("nonce"), callback_data.nonce):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    if not user.is_active:
        await state.clear()
        await query.answer(i18n("withdraw.banned"), show_alert=True)
        return
    # before any money moves: the quote's buttons are closed and the outcome told under it
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return
    if not payouts_configured(services.settings):
        # a dialog begun before Crypto Pay was switched off (the FSM state outlives a restart)
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await _refuse_unconfigured(message, user=user, i18n=i18n, services=services, state=state)
        return
    amount, asset = Decimal(data["amount"]), str(data["asset"])
    settings = services.settings
    automatic = not needs_admin_approval(
        tier=user.tier, amount_rub=amount, gold_limit=settings.gold_auto_payout_limit_rub
    )
    try:
        rate = await _fresh_rate(services, asset=asset)
        async with services.transaction() as conn:
            if automatic:  # the payouts actor sends a Gold creator with an open signal to review
                trust = TrustPolicy.from_settings(settings)
                automatic = (
                    await trust_signals.creator_risk(conn, user.id, rules=trust.risk, window=trust.risk_window)
                ).low
            # the payout row and its reservation in one transaction; the nonce makes a double tap one payout
            payout, _created = await payouts.create_requested(
                conn,
                user_id=user.id,
                amount_rub=amount,
                asset=asset,
                request_id=f"withdraw:{user.id}:{callback_data.nonce}",
            )
    except RateUnavailable:
        await query.answer(i18n("withdraw.rates_stale"), show_alert=True)
        return
    except ledger.InsufficientFunds:
        await state.clear()
        await query.answer()
        await message.answer(i18n("withdraw.balance_changed"))
        return
    await services.creator_reads.invalidate(user.id)  # the reservation moved money: committed above
    await state.clear()
    # the payouts actor approves Gold payouts under the limit itself; others wait for an admin
    await services.send(PROCESS_PAYOUT, payout.id)
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    converted = convert_rub_to_asset(amount_rub=amount, rate_rub_per_asset=rate.rate, asset=asset)
    await message.answer(
        i18n(
            "withdraw.created_auto" if automatic else "withdraw.created",
            payout_id=payout.id,
            amount=amount,
            asset_amount=converted,
            asset=asset,
        )
    )
