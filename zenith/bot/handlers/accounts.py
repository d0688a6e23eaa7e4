"""Linking TikTok / YouTube accounts and proving ownership with a one-time code."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AccountAction, AccountCb
from zenith.bot.filters import HasText
from zenith.bot.handles import EXAMPLES, HandleNotUnderstood, parse_account
from zenith.bot.keyboards.inline import accounts_keyboard, cancel_keyboard, check_account_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.bot.states import LinkAccount
from zenith.domain.links import Platform
from zenith.domain.verification import generate_code
from zenith.i18n import Markup, Translator
from zenith.messaging.contract import VERIFY_ACCOUNT
from zenith.storage import accounts
from zenith.storage.users import User

router = Router(name=__name__)


def _display(account: accounts.PlatformAccount) -> str:
    return (
        account.external_id
        if account.platform == Platform.YOUTUBE
        and account.external_id
        and account.handle == account.external_id.lower()
        else f"@{account.handle}"
    )


@router.message(Command("accounts"))
@router.message(menu_button("menu.accounts"))
async def show_accounts(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    async with services.read() as conn:
        linked = await accounts.list_for_user(conn, user_id=user.id)
    # one line per account: a verified one hides older pending attempts at the same handle
    seen: set[tuple[str, str]] = set()
    lines, unverified = [], []
    for account in linked:
        key = (account.platform, account.handle)
        if key in seen:
            continue
        seen.add(key)
        verified = account.state == "verified"
        lines.append(
            i18n(
                "accounts.line",
                icon="✅" if verified else "⏳",
                platform=i18n(f"platform.{account.platform}"),
                handle=_display(account),
                status=i18n("accounts.status_verified" if verified else "accounts.status_pending"),
            )
        )
        if not verified:
            unverified.append((account.id, account.platform, _display(account)))
    body = "\n".join([i18n("accounts.header"), *lines]) if lines else i18n("accounts.empty")
    await message.answer(body, reply_markup=accounts_keyboard(i18n, unverified=unverified))


@router.callback_query(AccountCb.filter(F.action == AccountAction.ADD))
async def ask_handle(
    query: CallbackQuery, callback_data: AccountCb, user: User, i18n: Translator, state: FSMContext
) -> None:
    if not user.is_active:
        await query.answer(i18n("common.banned"), show_alert=True)
        return
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await state.set_state(LinkAccount.handle)
    await state.update_data(platform=callback_data.platform.value)
    await query.answer()
    await message.answer(
        i18n(f"accounts.ask_handle_{callback_data.platform.value}"), reply_markup=cancel_keyboard(i18n)
    )


@router.message(LinkAccount.handle, HasText())
async def link_account(
    message: Message, user: User, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    platform = (await state.get_data()).get("platform", "")
    try:
        ref = parse_account(platform, message.text or "")
    except HandleNotUnderstood:
        await message.answer(
            i18n("accounts.bad_handle", platform=i18n(f"platform.{platform}"), example=EXAMPLES.get(platform, "")),
            reply_markup=cancel_keyboard(i18n),
        )
        return
    async with services.transaction() as conn:
        owner = await accounts.find_verified(conn, platform=ref.platform, handle=ref.handle)
        if owner is None and ref.external_id:
            owner = await accounts.find_verified(conn, platform=ref.platform, external_id=ref.external_id)
        if owner is not None and owner.user_id != user.id:
            account = None
        else:
            account = await accounts.create_pending(
                conn,
                user_id=user.id,
                platform=ref.platform,
                handle=ref.handle,
                verification_code=generate_code(),
                external_id=ref.external_id,
            )
    await state.clear()
    if account is None:
        await message.answer(i18n("accounts.taken"))
        return
    if account.state == "verified":
        await message.answer(i18n("accounts.already_verified"))
        return
    await message.answer(
        i18n(
            "accounts.code",
            handle=ref.display,
            code=account.verification_code,
            where=Markup(i18n(f"accounts.where_{account.platform}")),
        ),
        reply_markup=check_account_keyboard(i18n, account_id=account.id, platform=account.platform, handle=ref.display),
    )


@router.callback_query(AccountCb.filter(F.action == AccountAction.CHECK))
async def check_account(
    query: CallbackQuery, callback_data: AccountCb, user: User, i18n: Translator, services: BotServices
) -> None:
    async with services.read() as conn:
        try:
            account = await accounts.get(conn, callback_data.account_id)
        except accounts.AccountNotFound:
            account = None
    # ids in callback data are never trusted: only the owner may trigger the check
    if account is None or account.user_id != user.id:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    if account.state == "verified":
        await query.answer(i18n("accounts.already_verified"), show_alert=True)
        return
    await services.send(VERIFY_ACCOUNT, account.id)
    await query.answer(i18n("accounts.check_sent", handle=_display(account)), show_alert=True)
