"""Values an admin types into the campaign dialogues: read, checked by the domain, kept
json-able in the FSM state; amounts read like a creator's withdrawal (``bot.amounts``),
an ambiguous one asked back with a button per reading, never guessed."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces
from zenith.bot.amounts import AmountAmbiguous, read_amount
from zenith.bot.callbacks import AdminCampaignAmountCb, CampaignField
from zenith.bot.keyboards.campaigns_admin import campaign_amount_keyboard
from zenith.domain.campaign_admin import (
    NONE_MARKS,
    check_cap,
    check_dates,
    check_funding,
    check_rate,
    parse_date,
    parse_min_account_age,
    parse_min_followers,
    parse_min_views,
    parse_name,
    parse_platforms,
    parse_tags,
)
from zenith.domain.campaigns import CampaignTerms
from zenith.domain.links import Platform
from zenith.i18n import Translator

# fields whose value is an amount of RUB (asked back when ambiguous)
MONEY_FIELDS = frozenset({CampaignField.RATE.value, CampaignField.CAP.value, "fund"})


def _money(raw: str | Decimal) -> Decimal:
    """A picked reading as it is, typed text through ``read_amount`` (raises ``AmountAmbiguous``
    / ``AmountNotUnderstood``)."""
    return raw if isinstance(raw, Decimal) else read_amount(raw)


def read_field(field: str, raw: str | Decimal) -> Any:
    """The json-able value of ``field`` from what the admin typed (or the reading they picked).

    Raises ``CampaignFieldError`` (a rule broken), ``AmountAmbiguous`` or ``AmountNotUnderstood``.
    """
    if field == "name":
        return parse_name(str(raw))
    if field == CampaignField.RATE.value:
        return str(check_rate(_money(raw)))
    if field == CampaignField.CAP.value:
        if isinstance(raw, str) and raw.strip().lower() in NONE_MARKS:
            return None
        return str(check_cap(_money(raw)))
    if field == "fund":
        return str(check_funding(_money(raw)))
    if field == CampaignField.PLATFORMS.value:
        return sorted(platform.value for platform in parse_platforms(str(raw)))
    if field == CampaignField.TAGS.value:
        return list(parse_tags(str(raw)))
    if field == CampaignField.MIN_VIEWS.value:
        return parse_min_views(str(raw))
    if field == CampaignField.MIN_ACCOUNT_AGE.value:
        return parse_min_account_age(str(raw))
    if field == CampaignField.MIN_FOLLOWERS.value:
        return parse_min_followers(str(raw))
    when = parse_date(str(raw))  # starts / ends
    return None if when is None else when.isoformat()


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def check_schedule(fields: dict[str, Any], *, new_start: bool) -> None:
    """The dates in ``fields`` make sense now (``CampaignFieldError`` if not)."""
    check_dates(
        starts_at=_when(fields.get("starts")),
        ends_at=_when(fields.get("ends")),
        now=datetime.now(timezone.utc),
        new_start=new_start,
    )


def terms_of(fields: dict[str, Any]) -> CampaignTerms:
    rate, cap = fields.get("rate"), fields.get("cap")
    return CampaignTerms(
        rate_per_1000=None if rate is None else Decimal(rate),
        min_views=fields.get("min_views"),
        cap_per_video=None if cap is None else Decimal(cap),
        platforms=frozenset(Platform(p) for p in fields.get("platforms") or Platform),
        required_tags=tuple(fields.get("tags") or ()),
        min_account_age_days=fields.get("min_account_age_days"),
        min_followers=fields.get("min_followers"),
    )


def dates_of(fields: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    return _when(fields.get("starts")), _when(fields.get("ends"))


async def ask_which_amount(message: Message, doubt: AmountAmbiguous, *, i18n: Translator, state: FSMContext) -> None:
    """Ask which reading was meant; the readings and a fresh nonce wait in the FSM state."""
    nonce = nonces.new_nonce()
    await state.update_data(amount_choices=[str(choice) for choice in doubt.choices], choice_nonce=nonce)
    if len(doubt.choices) > 1:
        question = i18n("campaigns.admin.did_you_mean_two", first=doubt.choices[0], second=doubt.choices[1])
    else:
        question = i18n("campaigns.admin.did_you_mean_one", amount=doubt.choices[0])
    await message.answer(question, reply_markup=campaign_amount_keyboard(i18n, nonce=nonce, choices=doubt.choices))


async def take_choice(
    query: CallbackQuery, callback_data: AdminCampaignAmountCb, *, i18n: Translator, state: FSMContext
) -> Decimal | None:
    """The reading a press picked, or None (answered "not available": a stale or forged press)."""
    data = await state.get_data()
    choices = data.get("amount_choices") or []
    if not nonces.matches(data.get("choice_nonce"), callback_data.nonce) or callback_data.index >= len(choices):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return None
    await state.update_data(amount_choices=None, choice_nonce=None)
    await query.answer()
    return Decimal(choices[callback_data.index])
