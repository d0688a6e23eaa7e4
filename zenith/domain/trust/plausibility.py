"""Is one platform answer possible at all? Refused answers are bad data, never money.

A count must be a whole, non-negative number no larger than a ceiling (no video has
ever had 100 billion views); likes and comments, where the platform gives them, cannot
exceed the views by more than a tolerance. An answer that fails is refused whole: it is
not clamped to the ceiling or to zero, because a clamped absurd number is still absurd.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from zenith.domain.trust.signals import Signal, SignalKind

__all__ = ["PlausibilityLimits", "RefusalReason", "check_answer"]


class RefusalReason(StrEnum):
    NOT_A_COUNT = "not_a_count"  # not an integer (a float with a fraction, a string, a bool)
    NEGATIVE = "negative"
    ABOVE_CEILING = "above_ceiling"
    ENGAGEMENT_ABOVE_VIEWS = "engagement_above_views"  # more likes or comments than views allow


@dataclass(frozen=True)
class PlausibilityLimits:
    """Parameters:
    max_views: the most views one video can have (TRUST_MAX_VIEWS, default 20,000,000,000).
    max_likes_per_view: likes (and comments) may reach this many per view
      (TRUST_MAX_LIKES_PER_VIEW, default 1.0) plus ``engagement_slack`` - counters are
      updated at different moments, so a fresh video can briefly show a few more likes
      than views.
    """

    max_views: int = 20_000_000_000
    max_likes_per_view: Decimal = Decimal("1.0")
    engagement_slack: int = 100


def _as_count(value: object) -> int | None:
    """``value`` as an int if it is a whole number (int, integral float/Decimal), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        try:
            if value == value.__class__(int(value)):
                return int(value)
        except (OverflowError, ValueError, ArithmeticError):
            return None
    return None


def check_answer(
    *, views: object, likes: object = None, comments: object = None, limits: PlausibilityLimits
) -> Signal | None:
    """None if the answer may be real, else an IMPLAUSIBLE signal whose evidence names the reason.

    ``likes`` / ``comments`` None: the platform hides them (nothing to compare).
    """
    counts = {"views": views, "likes": likes, "comments": comments}
    parsed: dict[str, int] = {}  # a hidden count (None) is left out
    for name, raw in counts.items():
        if raw is None and name != "views":
            continue
        count = _as_count(raw)
        if count is None:
            return _refused(RefusalReason.NOT_A_COUNT, field=name, value=repr(raw)[:80])
        if count < 0:
            return _refused(RefusalReason.NEGATIVE, field=name, value=count)
        if count > limits.max_views:
            return _refused(RefusalReason.ABOVE_CEILING, field=name, value=str(count), ceiling=limits.max_views)
        parsed[name] = count
    allowed = int(parsed["views"] * limits.max_likes_per_view) + limits.engagement_slack
    for name in ("likes", "comments"):
        count = parsed.get(name)
        if count is not None and count > allowed:
            return _refused(
                RefusalReason.ENGAGEMENT_ABOVE_VIEWS,
                field=name,
                value=count,
                views=parsed["views"],
                allowed=allowed,
            )
    return None


def _refused(reason: RefusalReason, **evidence: object) -> Signal:
    return Signal(SignalKind.IMPLAUSIBLE, {"reason": reason.value, **evidence})
