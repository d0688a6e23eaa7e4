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
from decimal import Decimal
from enum import StrEnum

from zenith.domain.earnings import EarningsPolicy, RateCard
from zenith.domain.links import Platform
from zenith.domain.money import to_money

__all__ = [
    "DEFAULT_CAMPAIGN_ID",
    "NEARLY_SPENT_SHARE",
    "CampaignError",
    "CampaignRefusal",
    "CampaignStatus",
    "CampaignTerms",
    "budget_progress",
    "clamp_to_budget",
    "cost_per_1000",
    "earnings_policy",
    "is_nearly_spent",
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
    """

    rate_per_1000: Decimal | None = None
    min_views: int | None = None
    cap_per_video: Decimal | None = None
    platforms: frozenset[Platform] = field(default_factory=lambda: frozenset(Platform))
    required_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.rate_per_1000 is not None and to_money(self.rate_per_1000) <= 0:
            raise CampaignError(f"rate must be > 0, got {self.rate_per_1000}")
        if self.min_views is not None and (isinstance(self.min_views, bool) or self.min_views < 0):
            raise CampaignError(f"min_views must be >= 0, got {self.min_views}")
        if self.cap_per_video is not None and to_money(self.cap_per_video) <= 0:
            raise CampaignError(f"cap must be > 0, got {self.cap_per_video}")
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
