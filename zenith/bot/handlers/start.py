"""/start, help, language, tier and cancel: the screens every creator sees first."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import CancelCb, DigestCb, DigestSwitch, LanguageCb
from zenith.bot.keyboards.inline import language_keyboard
from zenith.bot.keyboards.menu import main_menu, menu_button
from zenith.bot.services import BotServices
from zenith.domain.links import Platform
from zenith.i18n import Markup, Translator, get_translator
from zenith.storage import digests, users
from zenith.storage.users import User

router = Router(name=__name__)


def rates_text(i18n: Translator, *, services: BotServices, tier: str) -> str:
    """The current rate card for the creator's tier, minimum views and payout minimum."""
    policy = services.earnings
    payout_min = services.settings.payout_min_rub
    if policy.is_fixed:
        return i18n("start.fixed", amount=policy.fixed_amount, payout_min=payout_min)
    lines = "\n".join(
        i18n(
            "start.rate_line",
            platform=i18n(f"platform.{platform.value}"),
            amount=policy.rate_card.rate_for(platform, tier),
        )
        for platform in (Platform.TIKTOK, Platform.YOUTUBE, Platform.INSTAGRAM)
    )
    return i18n("start.rates", lines=Markup(lines), min_views=policy.min_views, payout_min=payout_min)


@router.message(CommandStart())
async def start(
    message: Message, user: User, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    await state.clear()
    name = user.first_name or user.username or str(user.telegram_id)
    text = "\n\n".join(
        [i18n("start.welcome", name=name), i18n("start.how"), rates_text(i18n, services=services, tier=user.tier)]
    )
    await message.answer(text, reply_markup=main_menu(i18n, is_admin=is_admin))


@router.message(Command("help"))
@router.message(menu_button("menu.help"))
async def show_help(message: Message, i18n: Translator, is_admin: bool, services: BotServices) -> None:
    settings = services.settings
    parts = [i18n("help.text", assets=", ".join(settings.payout_assets), payout_min=settings.payout_min_rub)]
    if is_admin:
        parts.append(i18n("help.admin"))
    await message.answer("\n\n".join(parts))


@router.message(Command("language"))
@router.message(menu_button("menu.language"))
async def choose_language(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    await message.answer(
        i18n("language.choose"),
        reply_markup=language_keyboard(i18n, digest_enabled=await _digest_state(services, user)),
    )


async def _digest_state(services: BotServices, user: User) -> bool | None:
    """Whether the creator gets the daily digest; None when EARNINGS_DIGEST is off (no switch)."""
    if not services.settings.earnings_digest:
        return None
    async with services.read() as conn:
        return await digests.is_enabled(conn, user_id=user.id)


@router.callback_query(DigestCb.filter())
async def switch_digest(
    query: CallbackQuery, callback_data: DigestCb, user: User, i18n: Translator, services: BotServices
) -> None:
    if not services.settings.earnings_digest:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    # the switch shows its new position on the pressed message: without one, nothing is switched
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return
    enabled = callback_data.switch is DigestSwitch.ON
    async with services.read() as conn:
        await digests.set_enabled(conn, user_id=user.id, enabled=enabled)
    await query.answer()
    await message.edit_reply_markup(reply_markup=language_keyboard(i18n, digest_enabled=enabled))
    await message.answer(i18n("language.digest_turned_on" if enabled else "language.digest_turned_off"))


@router.callback_query(LanguageCb.filter())
async def set_language(
    query: CallbackQuery, callback_data: LanguageCb, user: User, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    async with services.read() as conn:
        await users.set_language(conn, user_id=user.id, language=callback_data.code.value)
    chosen = get_translator(callback_data.code.value)
    await query.answer()
    await message.answer(chosen("language.changed"), reply_markup=main_menu(chosen, is_admin=is_admin))


@router.message(Command("tier"))
@router.message(menu_button("menu.tier"))
async def show_tier(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    policy = services.tier_policy(user.tier)
    await message.answer(i18n(f"tier.{policy.tier.value}", limit=policy.auto_payout_limit_rub or 0))


@router.message(Command("cancel"), StateFilter("*"))
async def cancel_command(message: Message, i18n: Translator, is_admin: bool, state: FSMContext) -> None:
    await state.clear()
    await message.answer(i18n("common.cancelled"), reply_markup=main_menu(i18n, is_admin=is_admin))


@router.callback_query(CancelCb.filter(), StateFilter("*"))
async def cancel_button(query: CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await state.clear()
    await query.answer()
    # Cancel always works: the buttons are closed where the bot can still edit them
    if isinstance(message, Message):
        await message.edit_reply_markup(reply_markup=None)
    await message.answer(i18n("common.cancelled"))


@router.message(Command("menu"))
async def show_menu(message: Message, i18n: Translator, is_admin: bool) -> None:
    await message.answer(i18n("menu.shown"), reply_markup=main_menu(i18n, is_admin=is_admin))
