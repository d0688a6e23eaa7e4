"""A campaign as a creator reads it in the list: rate, platforms, rules, budget left, and the
days left (an open campaign) or until its start (an upcoming one)."""

from __future__ import annotations

from datetime import datetime

from zenith.domain.campaign_upcoming import days_until_start
from zenith.domain.campaigns import budget_progress, days_left, earnings_policy
from zenith.domain.earnings import EarningsPolicy
from zenith.i18n import Markup, Translator
from zenith.storage.campaigns import Campaign, CampaignSpend

PREFIX = "creator_campaigns"


def _rules(i18n: Translator, campaign: Campaign, program: EarningsPolicy) -> str:
    """One line per rule that applies (each ends in a newline; "" when none)."""
    policy = earnings_policy(campaign.terms, program)
    lines = []
    if policy.min_views:
        lines.append(i18n(f"{PREFIX}.rule_min_views", min_views=policy.min_views))
    if policy.cap is not None:
        lines.append(i18n(f"{PREFIX}.rule_cap", cap=policy.cap))
    if campaign.required_tags:
        lines.append(i18n(f"{PREFIX}.rule_tags", tags=" ".join(campaign.required_tags)))
    if campaign.terms.min_account_age_days:
        lines.append(i18n(f"{PREFIX}.rule_account_age", days=campaign.terms.min_account_age_days))
    if campaign.terms.min_followers:
        lines.append(i18n(f"{PREFIX}.rule_followers", followers=campaign.terms.min_followers))
    return "".join(lines)


def _days(i18n: Translator, campaign: Campaign, now: datetime) -> str:
    left = days_left(campaign.ends_at, now=now)
    if left is None:
        return i18n(f"{PREFIX}.no_end")
    if left == 0:
        return i18n(f"{PREFIX}.ends_today")
    return i18n(f"{PREFIX}.days_left", count=left)


def _starts(i18n: Translator, starts_at: datetime, now: datetime) -> str:
    days = days_until_start(starts_at, now=now)
    if days == 0:
        return i18n(f"{PREFIX}.starts_today", when=starts_at)
    if days == 1:
        return i18n(f"{PREFIX}.starts_tomorrow", when=starts_at)
    return i18n(f"{PREFIX}.starts_in", count=days, when=starts_at)


def campaign_card(
    i18n: Translator,
    campaign: Campaign,
    spend: CampaignSpend,
    *,
    joined: bool,
    program: EarningsPolicy,
    now: datetime,
    upcoming: bool = False,
) -> str:
    """The campaign's card in the creator's list (HTML; the name and tags are escaped).

    ``upcoming``: the campaign has not opened yet, the last line says when it starts."""
    rate = (
        i18n(f"{PREFIX}.rate_standard")
        if campaign.rate_per_1000 is None
        else i18n(f"{PREFIX}.rate", rate=campaign.rate_per_1000)
    )
    platforms = ", ".join(i18n(f"platform.{platform}") for platform in sorted(campaign.platforms))
    return i18n(
        f"{PREFIX}.card",
        name=campaign.name,
        joined=Markup(i18n(f"{PREFIX}.joined_mark")) if joined else "",
        rate=Markup(rate),
        platforms=platforms,
        rules=Markup(_rules(i18n, campaign, program)),
        bar=budget_progress(spent=spend.funded - spend.remaining, funded=spend.funded),
        left=spend.remaining,
        funded=spend.funded,
        days=_starts(i18n, campaign.starts_at, now) if upcoming and campaign.starts_at else _days(i18n, campaign, now),
    )
