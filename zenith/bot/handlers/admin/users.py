"""Look up a creator, change their tier, ban or unban them (each action audited and told to them)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminMenuCb, AdminSection, AdminUserCb, UserAction
from zenith.bot.filters import HasText
from zenith.bot.keyboards.admin import user_actions_keyboard
from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.bot.lookup import LookupNotUnderstood, find_user
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.domain.users import UserStatus
from zenith.i18n import Translator, get_translator
from zenith.messaging.contract import NOTIFY
from zenith.storage import audit, ledger, users, videos

router = Router(name=__name__)


async def user_card(services: BotServices, i18n: Translator, *, user: users.User) -> tuple[str, InlineKeyboardMarkup]:
    async with services.read() as conn:
        balances = await ledger.balances(conn, user.id)
        video_count = (await videos.list_for_user(conn, user_id=user.id, limit=1)).total
    text = i18n(
        "admin.user_card",
        name=user.first_name or "—",
        telegram_id=user.telegram_id,
        username=f", @{user.username}" if user.username else "",
        language=i18n(f"language.name_{user.language}"),
        tier=i18n(f"tier.name_{user.tier}"),
        banned=i18n("admin.user_banned" if user.status is UserStatus.BANNED else "admin.user_active"),
        available=balances.available,
        reserved=balances.reserved,
        paid=balances.paid_out,
        videos=video_count,
        created=user.created_at,
    )
    return text, user_actions_keyboard(i18n, user_id=user.id, tier=user.tier, banned=user.status is UserStatus.BANNED)


@router.message(Command("user"))
@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.USER))
async def ask_user(event: Message | CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    message = event if isinstance(event, Message) else await pressed.reply_target(event, i18n)
    if message is None:
        return
    await state.set_state(AdminDialog.user_lookup)
    if isinstance(event, CallbackQuery):
        await event.answer()
    await message.answer(i18n("admin.ask_user"), reply_markup=cancel_keyboard(i18n))


@router.message(AdminDialog.user_lookup, HasText())
async def show_user(message: Message, i18n: Translator, services: BotServices, state: FSMContext) -> None:
    try:
        async with services.read() as conn:
            found = await find_user(conn, message.text or "")
    except LookupNotUnderstood:
        found = None
    if found is None:
        await message.answer(i18n("admin.user_not_found"), reply_markup=cancel_keyboard(i18n))
        return
    await state.clear()
    text, keyboard = await user_card(services, i18n, user=found)
    await message.answer(text, reply_markup=keyboard)


_ACTIONS = {
    UserAction.GOLD: ("user.tier", "admin.tier_changed"),
    UserAction.BRONZE: ("user.tier", "admin.tier_changed"),
    UserAction.BAN: ("user.ban", "admin.banned_done"),
    UserAction.UNBAN: ("user.unban", "admin.unbanned_done"),
}


@router.callback_query(AdminUserCb.filter())
async def change_user(
    query: CallbackQuery, callback_data: AdminUserCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if not is_admin:
        await query.answer(i18n("admin.refused"), show_alert=True)
        return
    card = await pressed.reply_target(query, i18n)
    if card is None:
        return
    admin_id, action = query.from_user.id, callback_data.action
    audit_action, done_key = _ACTIONS[action]
    try:
        async with services.transaction() as conn:
            if action in (UserAction.GOLD, UserAction.BRONZE):
                target = await users.set_tier(conn, user_id=callback_data.user_id, tier=action.value)
            elif action is UserAction.BAN:
                target = await users.ban(conn, user_id=callback_data.user_id)
            else:
                target = await users.unban(conn, user_id=callback_data.user_id)
            await audit.record(
                conn,
                admin_id=admin_id,
                action=audit_action,
                target_type="user",
                target_id=target.id,
                details={"value": action.value},
            )
    except users.UserNotFound:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    await services.creator_reads.invalidate(target.id)  # tier or ban changes what they earn: committed above
    creator_i18n = get_translator(target.language)
    if action in (UserAction.GOLD, UserAction.BRONZE):
        key, params = "notify.user.tier", {"tier": creator_i18n(f"tier.name_{target.tier}")}
    else:
        key, params = ("notify.user.banned" if action is UserAction.BAN else "notify.user.unbanned"), {}
    await services.send(NOTIFY, target.id, key, params, None, None)
    await query.answer(i18n(done_key, tier=i18n(f"tier.name_{target.tier}")))
    text, keyboard = await user_card(services, i18n, user=target)
    if isinstance(card, Message):
        try:
            await card.edit_text(text, reply_markup=keyboard)
            return
        except TelegramBadRequest:
            pass  # the card cannot show it (deleted, or unchanged): a new card below
    await card.answer(text, reply_markup=keyboard)
