"""Campaigns: paid programs with their own terms, rules and, except the default one, a budget.

Pure rules, no I/O. The default program (`DEFAULT_CAMPAIGN_ID`) keeps the settings'
rate card and limits and has no budget; a budgeted campaign pays its own rate per
1,000 views, within its own minimum and per-video cap, and never more than its budget
holds: the last credit is cut to what is left (`clamp_to_budget`) and the campaign
closes. Rules are checked at submission against the platform's own answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from zenith.domain.earnings import EarningsPolicy, RateCard
from zenith.domain.links import Platform
from zenith.domain.money import to_money

__all__ = [
    "ACCOUNT_FIGURES",
    "DEFAULT_CAMPAIGN_ID",
    "NEARLY_SPENT_SHARE",
    "AccountFigure",
    "CampaignError",
    "CampaignRefusal",
    "CampaignStatus",
    "CampaignTerms",
    "account_refusal",
    "budget_progress",
    "clamp_to_budget",
    "cost_per_1000",
    "days_left",
    "earnings_policy",
    "is_nearly_spent",
    "needs_account_figures",
    "normalize_tag",
    "submission_refusal",
    "tag_present",
]

DEFAULT_CAMPAIGN_ID = 1
# creators are told a campaign is nearly spent when this share of its money is left
NEARLY_SPENT_SHARE = Decimal("0.10")
_TAG = re.compile(r"[#@][\w.]{1,64}")


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being set up: not shown, takes no submissions
    OPEN = "open"  # shown, takes submissions, pays
    PAUSED = "paused"  # takes no new submissions; its videos keep earning from the budget
    CLOSED = "closed"  # spent, ended or closed by an admin: pays nothing more


class CampaignRefusal(StrEnum):
    NOT_OPEN = "not_open"
    PLATFORM = "platform"
    MISSING_TAG = "missing_tag"
    ACCOUNT_AGE = "account_age"  # the account is younger than the campaign asks
    FOLLOWERS = "followers"  # the account has fewer followers than the campaign asks
    FIGURE_HIDDEN = "figure_hidden"  # the platform reports the figure, but this account hides it


class CampaignError(ValueError):
    """Campaign terms that contradict each other or are out of range."""


def normalize_tag(text: str) -> str:
    """``"#ZenithDance"`` -> ``"#zenithdance"``; raise `CampaignError` for anything not a
    hashtag (``#``) or mention (``@``) of letters, digits, ``_`` and ``.``."""
    tag = unicodedata.normalize("NFKC", text.strip()).lower()
    if _TAG.fullmatch(tag) is None:
        raise CampaignError(f"{text!r} is not a #hashtag or @mention")
    return tag


@dataclass(frozen=True)
class CampaignTerms:
    """What a campaign pays and requires.

    Parameters:
      rate_per_1000: RUB per 1,000 views; None: the program's rate card (default program).
      min_views: views before a video earns; None: the program's MIN_VIEWS.
      cap_per_video: most one video earns, RUB; None: the program's VIDEO_CAP_RUB.
      platforms: where its videos may come from.
      required_tags: hashtags / mentions the title or description must carry (all of them).
      min_account_age_days: the account must be this many days old where the platform
        tells (`ACCOUNT_FIGURES`); None or 0: no rule.
      min_followers: the account must have this many followers / subscribers where the
        platform tells; None or 0: no rule.
    """

    rate_per_1000: Decimal | None = None
    min_views: int | None = None
    cap_per_video: Decimal | None = None
    platforms: frozenset[Platform] = field(default_factory=lambda: frozenset(Platform))
    required_tags: tuple[str, ...] = ()
    min_account_age_days: int | None = None
    min_followers: int | None = None

    def __post_init__(self) -> None:
        if self.rate_per_1000 is not None and to_money(self.rate_per_1000) <= 0:
            raise CampaignError(f"rate must be > 0, got {self.rate_per_1000}")
        if self.min_views is not None and (isinstance(self.min_views, bool) or self.min_views < 0):
            raise CampaignError(f"min_views must be >= 0, got {self.min_views}")
        if self.cap_per_video is not None and to_money(self.cap_per_video) <= 0:
            raise CampaignError(f"cap must be > 0, got {self.cap_per_video}")
        for name in ("min_account_age_days", "min_followers"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise CampaignError(f"{name} must be a whole number >= 0, got {value!r}")
        platforms = frozenset(Platform(p) for p in self.platforms)
        if not platforms:
            raise CampaignError("a campaign allows at least one platform")
        object.__setattr__(self, "platforms", platforms)
        object.__setattr__(self, "required_tags", tuple(dict.fromkeys(normalize_tag(t) for t in self.required_tags)))


def earnings_policy(terms: CampaignTerms, program: EarningsPolicy) -> EarningsPolicy:
    """The campaign's earnings rules: its own rate, minimum and cap where set, else the program's."""
    if terms.rate_per_1000 is None and terms.min_views is None and terms.cap_per_video is None:
        return program
    rate_card = (
        program.rate_card if terms.rate_per_1000 is None else RateCard(default_per_1000=to_money(terms.rate_per_1000))
    )
    return EarningsPolicy(
        rate_card=rate_card,
        min_views=program.min_views if terms.min_views is None else terms.min_views,
        cap=program.cap if terms.cap_per_video is None else to_money(terms.cap_per_video),
    )


def tag_present(text: str | None, tag: str) -> bool:
    """Whether ``text`` carries ``tag`` as a whole word (``#zen`` is not in ``#zenith``), any case."""
    if not text:
        return False
    wanted = normalize_tag(tag)
    haystack = unicodedata.normalize("NFKC", text).lower()
    return re.search(rf"(?<![\w#@]){re.escape(wanted)}(?![\w])", haystack) is not None


def submission_refusal(
    terms: CampaignTerms, *, status: CampaignStatus | str, platform: Platform | str, text: str | None
) -> tuple[CampaignRefusal, str] | None:
    """Why a video may not join the campaign (the reason and its detail), or None.

    ``text`` is the title / description as the platform reports it, never what the
    creator typed.
    """
    if CampaignStatus(status) is not CampaignStatus.OPEN:
        return CampaignRefusal.NOT_OPEN, str(status)
    if Platform(platform) not in terms.platforms:
        return CampaignRefusal.PLATFORM, Platform(platform).value
    missing = [tag for tag in terms.required_tags if not tag_present(text, tag)]
    if missing:
        return CampaignRefusal.MISSING_TAG, " ".join(missing)
    return None


class AccountFigure(StrEnum):
    AGE = "age"
    FOLLOWERS = "followers"


# What each platform tells about an account: YouTube's channels.list has the channel's
# creation date and subscriber count; TikTok's and Instagram's profile JSON only the
# follower count. A rule about a figure its platform never tells is not checked there.
ACCOUNT_FIGURES: dict[Platform, frozenset[AccountFigure]] = {
    Platform.YOUTUBE: frozenset({AccountFigure.AGE, AccountFigure.FOLLOWERS}),
    Platform.TIKTOK: frozenset({AccountFigure.FOLLOWERS}),
    Platform.INSTAGRAM: frozenset({AccountFigure.FOLLOWERS}),
}


def needs_account_figures(terms: CampaignTerms, platform: Platform | str) -> bool:
    """Whether judging a video of ``platform`` needs its account's figures (one more call)."""
    told = ACCOUNT_FIGURES[Platform(platform)]
    return bool(
        (terms.min_account_age_days and AccountFigure.AGE in told)
        or (terms.min_followers and AccountFigure.FOLLOWERS in told)
    )


def account_refusal(
    terms: CampaignTerms,
    *,
    platform: Platform | str,
    created_at: datetime | None,
    followers: int | None,
    now: datetime,
) -> tuple[CampaignRefusal, dict[str, int | str]] | None:
    """Why the account behind a video does not meet the campaign's account rules, with the
    figures to tell the creator (``required``, ``actual``; ``what`` for a hidden one), or None.

    ``created_at`` / ``followers`` are the platform's answer (None: not shown). A figure
    its platform never tells is not judged; one it tells but this account hides is refused.
    """
    told = ACCOUNT_FIGURES[Platform(platform)]
    if terms.min_account_age_days and AccountFigure.AGE in told:
        if created_at is None:
            return CampaignRefusal.FIGURE_HIDDEN, {"what": AccountFigure.AGE.value}
        age_days = max(0, (now - created_at).days)
        if age_days < terms.min_account_age_days:
            return CampaignRefusal.ACCOUNT_AGE, {"required": terms.min_account_age_days, "actual": age_days}
    if terms.min_followers and AccountFigure.FOLLOWERS in told:
        if followers is None:
            return CampaignRefusal.FIGURE_HIDDEN, {"what": AccountFigure.FOLLOWERS.value}
        if followers < terms.min_followers:
            return CampaignRefusal.FOLLOWERS, {"required": terms.min_followers, "actual": followers}
    return None


def clamp_to_budget(amount: Decimal, remaining: Decimal) -> tuple[Decimal, bool]:
    """What may be credited of ``amount`` from a budget holding ``remaining``, and whether
    the budget is spent after it (then the campaign closes)."""
    amount, remaining = to_money(amount), to_money(max(remaining, Decimal(0)))
    if amount >= remaining:
        return remaining, True
    return amount, False


def is_nearly_spent(*, remaining: Decimal, funded: Decimal) -> bool:
    """At most `NEARLY_SPENT_SHARE` of the money put in is left (and some was put in)."""
    return funded > 0 and remaining <= funded * NEARLY_SPENT_SHARE


def budget_progress(*, spent: Decimal, funded: Decimal, width: int = 10) -> str:
    """``"▓▓▓░░░░░░░"``: the share of the budget spent, in ``width`` cells."""
    if funded <= 0:
        return "░" * width
    filled = min(width, int(Decimal(width) * to_money(spent) / to_money(funded)))
    return "▓" * filled + "░" * (width - filled)


def cost_per_1000(*, spent: Decimal, views: int) -> Decimal | None:
    """RUB paid per 1,000 views, None before any view."""
    if views <= 0:
        return None
    return to_money(to_money(spent) * 1000 / Decimal(views))


def days_left(ends_at: datetime | None, *, now: datetime) -> int | None:
    """Whole days until ``ends_at``, a started day counted (1 while it ends within 24 hours,
    0 once it has passed); None for a campaign without an end date."""
    if ends_at is None:
        return None
    seconds = (ends_at - now).total_seconds()
    return max(0, int(-(-seconds // 86_400)))  # rounded up: 2 h left is "1 day left"
