"""Running a campaign: what admins may do to it, when the clock opens or closes it, and
the rules for what an admin types when setting one up. Pure, no I/O.

Life cycle::

    draft --open--> open --pause--> paused --resume--> open
      \\______________\\________________\\--close / end date / budget spent--> closed

A draft is being set up: nobody sees it. A draft with a start date is *scheduled*: the
clock opens it once the date comes, provided it holds money (a draft without a start
date waits for an admin's Open; an admin may open a scheduled draft early). Any
campaign not closed whose end date passed is closed by the clock, paused and draft ones
too, and its unspent budget goes back to the funder. Closed is final.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

from zenith.domain.campaigns import CampaignStatus, normalize_tag
from zenith.domain.links import Platform
from zenith.domain.money import to_money

__all__ = [
    "MAX_ACCOUNT_AGE_DAYS",
    "MAX_FOLLOWERS",
    "MAX_FUNDING",
    "MAX_NAME_LENGTH",
    "MAX_RATE",
    "MAX_TAGS",
    "AdminAction",
    "CampaignFieldError",
    "CloseReason",
    "FieldProblem",
    "OpenRefusal",
    "actions_for",
    "check_cap",
    "check_dates",
    "check_funding",
    "check_rate",
    "due_to_close",
    "due_to_open",
    "open_refusal",
    "parse_date",
    "parse_min_account_age",
    "parse_min_followers",
    "parse_min_views",
    "parse_name",
    "parse_platforms",
    "parse_tags",
    "status_after",
]

MAX_NAME_LENGTH = 100  # the campaigns.name CHECK
MAX_RATE = Decimal("100000.00")  # RUB per 1,000 views: far above any real rate, catches a slipped key
MAX_CAP = Decimal("10000000.00")
MAX_FUNDING = Decimal("1000000000.00")  # one funding transfer
MAX_TAGS = 10
MAX_MIN_VIEWS = 100_000_000
MAX_ACCOUNT_AGE_DAYS = 3650  # ten years: older than that asks for accounts hardly anyone has
MAX_FOLLOWERS = 1_000_000_000  # more than any account has; also inside the integer column
# what an admin types for "none": no tags, no end date, the program's minimum or cap
NONE_MARKS = frozenset({"-", "—", "–", "no", "none", "нет"})
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{2})\.(\d{2})\.(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
# a whole number, digits grouped by threes or not: "1000", "1 000", "1,000", "1.000"
_WHOLE = re.compile(r"[0-9]+|[0-9]{1,3}([ ,.'_\u00a0\u202f])[0-9]{3}(?:\1[0-9]{3})*")


class CloseReason(StrEnum):
    """Why a campaign closed (``campaigns.close_reason``); each has its own notice."""

    BUDGET_SPENT = "budget spent"
    ENDED = "end date"
    ADMIN = "closed by an admin"


class AdminAction(StrEnum):
    OPEN = "open"  # draft -> open
    PAUSE = "pause"  # open -> paused
    RESUME = "resume"  # paused -> open
    CLOSE = "close"  # draft, open or paused -> closed


_TRANSITIONS: dict[tuple[AdminAction, CampaignStatus], CampaignStatus] = {
    (AdminAction.OPEN, CampaignStatus.DRAFT): CampaignStatus.OPEN,
    (AdminAction.PAUSE, CampaignStatus.OPEN): CampaignStatus.PAUSED,
    (AdminAction.RESUME, CampaignStatus.PAUSED): CampaignStatus.OPEN,
    (AdminAction.CLOSE, CampaignStatus.DRAFT): CampaignStatus.CLOSED,
    (AdminAction.CLOSE, CampaignStatus.OPEN): CampaignStatus.CLOSED,
    (AdminAction.CLOSE, CampaignStatus.PAUSED): CampaignStatus.CLOSED,
}


def status_after(action: AdminAction | str, status: CampaignStatus | str) -> CampaignStatus | None:
    """The status ``action`` leads to from ``status``; None when it does not apply there
    (pausing a paused campaign, anything on a closed one)."""
    return _TRANSITIONS.get((AdminAction(action), CampaignStatus(status)))


def actions_for(status: CampaignStatus | str) -> tuple[AdminAction, ...]:
    """The admin actions a campaign in ``status`` offers, in button order."""
    return tuple(action for action in AdminAction if status_after(action, status) is not None)


class OpenRefusal(StrEnum):
    NO_BUDGET = "no_budget"  # nothing to pay with
    ENDED = "ended"  # its end date passed: the clock closes it


def open_refusal(*, remaining: Decimal, ends_at: datetime | None, now: datetime) -> OpenRefusal | None:
    """Why a campaign may not start taking videos now (open or resume), or None."""
    if ends_at is not None and ends_at <= now:
        return OpenRefusal.ENDED
    if remaining <= 0:
        return OpenRefusal.NO_BUDGET
    return None


def due_to_open(
    *,
    status: CampaignStatus | str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    remaining: Decimal,
    now: datetime,
) -> bool:
    """A scheduled draft whose start date came, with money and not past its end."""
    return (
        CampaignStatus(status) is CampaignStatus.DRAFT
        and starts_at is not None
        and starts_at <= now
        and open_refusal(remaining=remaining, ends_at=ends_at, now=now) is None
    )


def due_to_close(*, status: CampaignStatus | str, ends_at: datetime | None, now: datetime) -> bool:
    """Not closed yet and its end date passed."""
    return CampaignStatus(status) is not CampaignStatus.CLOSED and ends_at is not None and ends_at <= now


class FieldProblem(StrEnum):
    """What is wrong with a typed value; the bot says it in the admin's language."""

    NAME_EMPTY = "name_empty"
    NAME_TOO_LONG = "name_too_long"
    PLATFORM_UNKNOWN = "platform_unknown"
    TAG_INVALID = "tag_invalid"
    TOO_MANY_TAGS = "too_many_tags"
    NOT_A_NUMBER = "not_a_number"
    NOT_POSITIVE = "not_positive"
    TOO_LARGE = "too_large"
    NEGATIVE = "negative"
    DATE_INVALID = "date_invalid"
    DATE_PAST = "date_past"
    END_BEFORE_START = "end_before_start"


class CampaignFieldError(ValueError):
    """A typed value that cannot be a campaign's; ``problem`` says why, ``detail`` what."""

    def __init__(self, problem: FieldProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        self.detail = detail


def _is_none(text: str) -> bool:
    return text.strip().lower() in NONE_MARKS


def parse_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise CampaignFieldError(FieldProblem.NAME_EMPTY)
    if len(name) > MAX_NAME_LENGTH:
        raise CampaignFieldError(FieldProblem.NAME_TOO_LONG, str(len(name)))
    return name


def parse_platforms(text: str) -> frozenset[Platform]:
    """``"youtube, tiktok"`` / ``"all"`` -> the platforms; each by its name, any case."""
    words = [word for word in re.split(r"[\s,;]+", text.strip().lower()) if word]
    if words in (["all"], ["все"]):
        return frozenset(Platform)
    if not words:
        raise CampaignFieldError(FieldProblem.PLATFORM_UNKNOWN, "")
    found = set()
    for word in words:
        try:
            found.add(Platform(word))
        except ValueError:
            raise CampaignFieldError(FieldProblem.PLATFORM_UNKNOWN, word) from None
    return frozenset(found)


def parse_tags(text: str) -> tuple[str, ...]:
    """``"#zen @brand"`` -> normalized tags; ``"-"`` -> none."""
    if _is_none(text):
        return ()
    tags = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word:
            continue
        try:
            tags.append(normalize_tag(word))
        except ValueError:
            raise CampaignFieldError(FieldProblem.TAG_INVALID, word) from None
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_TAGS:
        raise CampaignFieldError(FieldProblem.TOO_MANY_TAGS, str(MAX_TAGS))
    return tuple(tags)


def parse_min_views(text: str) -> int | None:
    """Views before a video earns, 0 to `MAX_MIN_VIEWS`; ``"-"``: the program's minimum (None).
    A fraction ("1.5") is refused, not read as 15."""
    return _whole_number(text, MAX_MIN_VIEWS)


def _whole_number(text: str, limit: int) -> int | None:
    """A count from 0 to ``limit`` typed with or without thousands separators; ``"-"``: None.

    A fraction ("2.5") is not a count; "1.500" is read as grouped thousands, as it is
    written in Russian."""
    if _is_none(text):
        return None
    typed = text.strip()
    if typed.startswith(("-", "−")) and _WHOLE.fullmatch(typed[1:].strip()):
        raise CampaignFieldError(FieldProblem.NEGATIVE, typed[:32])
    if _WHOLE.fullmatch(typed) is None:
        raise CampaignFieldError(FieldProblem.NOT_A_NUMBER, typed[:32])
    digits = re.sub(r"[^0-9]", "", typed)
    if len(digits.lstrip("0")) > len(str(limit)) or int(digits) > limit:
        raise CampaignFieldError(FieldProblem.TOO_LARGE, str(limit))
    return int(digits)


def parse_min_account_age(text: str) -> int | None:
    """Days an account must have existed, 0 to `MAX_ACCOUNT_AGE_DAYS`; ``"-"``: no rule (None)."""
    return _whole_number(text, MAX_ACCOUNT_AGE_DAYS)


def parse_min_followers(text: str) -> int | None:
    """Followers / subscribers an account must have, 0 to `MAX_FOLLOWERS`; ``"-"``: no rule (None)."""
    return _whole_number(text, MAX_FOLLOWERS)


def _check_money(amount: Decimal, limit: Decimal) -> Decimal:
    amount = to_money(amount)
    if amount <= 0:
        raise CampaignFieldError(FieldProblem.NOT_POSITIVE, str(amount))
    if amount > limit:
        raise CampaignFieldError(FieldProblem.TOO_LARGE, str(limit))
    return amount


def check_rate(amount: Decimal) -> Decimal:
    """RUB per 1,000 views: above zero, at most `MAX_RATE`."""
    return _check_money(amount, MAX_RATE)


def check_cap(amount: Decimal) -> Decimal:
    """Most one video earns, RUB: above zero, at most `MAX_CAP`."""
    return _check_money(amount, MAX_CAP)


def check_funding(amount: Decimal) -> Decimal:
    """One funding transfer, RUB: above zero, at most `MAX_FUNDING`."""
    return _check_money(amount, MAX_FUNDING)


def parse_date(text: str) -> datetime | None:
    """``"2026-12-31"``, ``"31.12.2026"``, either with ``" 18:00"`` (UTC) -> an aware
    datetime; ``"-"`` -> None. A date without a time means its start (00:00 UTC)."""
    if _is_none(text):
        return None
    parts = text.strip().split()
    if not 1 <= len(parts) <= 2:
        raise CampaignFieldError(FieldProblem.DATE_INVALID, text.strip()[:32])
    date = _DATE.fullmatch(parts[0])
    clock = _TIME.fullmatch(parts[1]) if len(parts) == 2 else None
    if date is None or (len(parts) == 2 and clock is None):
        raise CampaignFieldError(FieldProblem.DATE_INVALID, text.strip()[:32])
    year, month, day = (date[1], date[2], date[3]) if date[1] else (date[6], date[5], date[4])
    hour, minute = (int(clock[1]), int(clock[2])) if clock else (0, 0)
    try:
        return datetime(int(year), int(month), int(day), hour, minute, tzinfo=timezone.utc)
    except ValueError:
        raise CampaignFieldError(FieldProblem.DATE_INVALID, text.strip()[:32]) from None


def check_dates(*, starts_at: datetime | None, ends_at: datetime | None, now: datetime, new_start: bool = True) -> None:
    """A new start date is not in the past (a minute of slack for typing); the end is in
    the future and after the start."""
    slack = timedelta(minutes=1)
    if new_start and starts_at is not None and starts_at < now - slack:
        raise CampaignFieldError(FieldProblem.DATE_PAST, starts_at.isoformat())
    if ends_at is not None and ends_at <= now:
        raise CampaignFieldError(FieldProblem.DATE_PAST, ends_at.isoformat())
    if ends_at is not None and starts_at is not None and ends_at <= starts_at:
        raise CampaignFieldError(FieldProblem.END_BEFORE_START, ends_at.isoformat())
