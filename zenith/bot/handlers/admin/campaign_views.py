"""How admins see campaigns: the list's lines, the card, a new campaign's summary, and
what a bad value typed into a campaign dialogue is told."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from zenith.domain.campaign_admin import CampaignFieldError, CloseReason
from zenith.domain.campaigns import CampaignStatus, budget_progress, cost_per_1000
from zenith.i18n import Markup, Translator
from zenith.storage.campaigns import Campaign, CampaignSpend


def status_label(i18n: Translator, campaign: Campaign) -> str:
    if campaign.status is CampaignStatus.DRAFT and campaign.starts_at is not None:
        return i18n("campaigns.admin.status_scheduled", when=campaign.starts_at)
    return i18n(f"campaigns.admin.status_{campaign.status.value}")


def list_line(i18n: Translator, campaign: Campaign, spend: CampaignSpend) -> str:
    if not campaign.budgeted:
        return i18n(
            "campaigns.admin.list_line_default", id=campaign.id, name=campaign.name, status=status_label(i18n, campaign)
        )
    return i18n(
        "campaigns.admin.list_line",
        id=campaign.id,
        name=campaign.name,
        status=status_label(i18n, campaign),
        spent=spend.spent,
        funded=spend.funded,
    )


def _rub(i18n: Translator, amount: Decimal | str | None) -> str:
    return i18n("campaigns.admin.program_setting") if amount is None else i18n("campaigns.admin.rub", amount=amount)


def _date(i18n: Translator, when: datetime | str | None) -> str:
    if when is None:
        return i18n("campaigns.admin.no_date")
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.strftime("%d.%m.%Y %H:%M UTC")


def _rules(i18n: Translator, fields: dict[str, Any]) -> dict[str, str]:
    """The rule parameters shared by the card and the summary, from json-able fields."""
    min_views = fields.get("min_views")
    return {
        "account": Markup(_account_rules(i18n, fields)),  # rendered by the translator: escaped already
        "rate": _rub(i18n, fields.get("rate")),
        "min_views": i18n("campaigns.admin.program_setting") if min_views is None else f"{int(min_views):,}",
        "cap": _rub(i18n, fields.get("cap")),
        "platforms": ", ".join(i18n(f"platform.{p}") for p in sorted(fields.get("platforms") or [])),
        "tags": " ".join(fields.get("tags") or []) or i18n("campaigns.admin.no_tags"),
        "starts": _date(i18n, fields.get("starts")),
        "ends": _date(i18n, fields.get("ends")),
    }


def _account_rules(i18n: Translator, fields: dict[str, Any]) -> str:
    """The account rules' line; 0 and None are no rule, as the domain judges them."""
    age, followers = fields.get("min_account_age_days"), fields.get("min_followers")
    no_rule = i18n("campaigns.admin.no_rule")
    return i18n(
        "campaigns.admin.account_rules",
        age=i18n("campaigns.admin.min_age", count=age) if age else no_rule,
        followers=i18n("campaigns.admin.min_followers", count=followers) if followers else no_rule,
    )


def campaign_fields(campaign: Campaign) -> dict[str, Any]:
    """The campaign's rules as the dialogues keep them (json-able, by field name)."""
    return {
        "name": campaign.name,
        "rate": None if campaign.rate_per_1000 is None else str(campaign.rate_per_1000),
        "platforms": sorted(campaign.platforms),
        "tags": list(campaign.required_tags),
        "min_views": campaign.min_views,
        "cap": None if campaign.cap_per_video is None else str(campaign.cap_per_video),
        "starts": None if campaign.starts_at is None else campaign.starts_at.isoformat(),
        "ends": None if campaign.ends_at is None else campaign.ends_at.isoformat(),
        "min_account_age_days": campaign.min_account_age_days,
        "min_followers": campaign.min_followers,
    }


def card_text(i18n: Translator, campaign: Campaign, spend: CampaignSpend) -> str:
    """Terms, money in / spent / left with a progress bar, videos, views and cost per 1,000 views."""
    cpm = cost_per_1000(spent=spend.spent, views=spend.views)
    common = {
        "id": campaign.id,
        "name": campaign.name,
        "status": status_label(i18n, campaign),
        "videos": spend.videos,
        "views": spend.views,
        "spent": spend.spent,
        "cpm": i18n("campaigns.admin.no_date") if cpm is None else i18n("campaigns.admin.rub", amount=cpm),
    }
    if not campaign.budgeted:
        return i18n("campaigns.admin.card_default", **common)
    text = i18n(
        "campaigns.admin.card",
        **common,
        **_rules(i18n, campaign_fields(campaign)),
        progress=budget_progress(spent=spend.spent, funded=spend.funded),
        funded=spend.funded,
        remaining=spend.remaining,
    )
    if campaign.closed_at is not None:
        text += "\n" + i18n("campaigns.admin.card_closed", when=campaign.closed_at, reason=_reason(i18n, campaign))
    return text


def _reason(i18n: Translator, campaign: Campaign) -> str:
    try:
        return i18n(f"campaigns.admin.reason.{CloseReason(campaign.close_reason or '').name.lower()}")
    except ValueError:  # a reason written by hand
        return campaign.close_reason or ""


def summary_text(i18n: Translator, fields: dict[str, Any]) -> str:
    return i18n("campaigns.admin.summary", name=fields["name"], **_rules(i18n, fields))


def field_error(i18n: Translator, error: CampaignFieldError) -> str:
    return i18n(f"campaigns.admin.error.{error.problem.value}", detail=error.detail)
