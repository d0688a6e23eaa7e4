"""Classified errors of every outside platform call.

Callers decide what to do from the class alone:

* ``TransientError``: try again later (timeouts, connection errors, 5xx, 429);
  ``retry_after`` says how long the platform asked us to wait, when it did.
* ``BadResponseError``: the platform answered something we cannot parse; retried a
  few times like a transient error, then reported. ``UnreadableAnswer`` is the kind
  about one video of an otherwise good answer (a count of 12.5, "abc", "1e30"), with
  the raw item: the video is retried on its own and set aside if it stays unreadable.
* ``PermanentError``: this one video / account cannot be read (deleted, private, ...);
  ``reason`` is one of ``NOT_FOUND``, ``PRIVATE``, ``DELETED``, ``UNAVAILABLE``.
  Retrying does not help.
* ``BlockedError``: the platform refuses us as a client (block page, captcha, JS
  challenge); back off the whole platform until ``until`` (or a default pause).
* ``QuotaExceededError``: a ``BlockedError`` with a known end: YouTube's daily quota,
  which resets at midnight Pacific time.
* ``ConfigurationError``: our own setup is wrong (bad API key); nothing to retry
  until an operator fixes the settings.
* ``AmbiguousOutcomeError``: a call that changes something (a Crypto Pay transfer) may or
  may not have been carried out; find out before doing it again.

``classify`` is the one place that decides what a failure of any outside service is,
Telegram's Bot API (aiogram's exceptions) included; the retry policies
(``zenith.platforms.retrying``) act on its verdict alone.
"""

from __future__ import annotations

import email.utils
import sys
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo

NOT_FOUND = "NOT_FOUND"
PRIVATE = "PRIVATE"
DELETED = "DELETED"
UNAVAILABLE = "UNAVAILABLE"
PERMANENT_REASONS = frozenset({NOT_FOUND, PRIVATE, DELETED, UNAVAILABLE})

PACIFIC = ZoneInfo("America/Los_Angeles")


class PlatformError(Exception):
    """Base of every classified platform error.

    :param message: what went wrong, for logs.
    :param platform: ``"youtube"``, ``"tiktok"``, ``"cryptopay"`` or ``"http"``.
    """

    def __init__(self, message: str, *, platform: str | None = None) -> None:
        super().__init__(message)
        self.platform = platform


class TransientError(PlatformError):
    """A call failed for a reason that passes: try again later.

    :param retry_after: seconds the platform asked us to wait (Retry-After), or None.
    :param status: the HTTP status, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, platform=platform)
        self.retry_after = retry_after
        self.status = status


class BadResponseError(PlatformError):
    """The platform answered with something we cannot parse (garbage, wrong shape).

    Treated like a transient error with fewer retries: a changed page layout does not
    fix itself in seconds, but a truncated response does.
    """


class UnreadableAnswer(BadResponseError):
    """The answer about one video cannot be understood (a fractional, non-finite or
    textual count, a missing field); the rest of the batch is fine.

    :param raw: the platform's item about this video, as text (cut to ``RAW_LIMIT``).
    """

    RAW_LIMIT = 4000

    def __init__(self, message: str, *, raw: str, platform: str | None = None) -> None:
        super().__init__(message, platform=platform)
        self.raw = raw[: self.RAW_LIMIT]


class PermanentError(PlatformError):
    """This item cannot be read, and retrying will not change that.

    :param reason: one of ``NOT_FOUND``, ``PRIVATE``, ``DELETED``, ``UNAVAILABLE``.
    """

    def __init__(self, message: str, *, reason: str, platform: str | None = None) -> None:
        if reason not in PERMANENT_REASONS:
            raise ValueError(f"unknown permanent reason {reason!r}; use one of {sorted(PERMANENT_REASONS)}")
        super().__init__(message, platform=platform)
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        # Per-id results are compared in tests and de-duplicated by callers.
        return (
            isinstance(other, PermanentError)
            and type(other) is type(self)
            and (other.reason, other.platform, str(other)) == (self.reason, self.platform, str(self))
        )

    def __hash__(self) -> int:
        return hash((type(self), self.reason, self.platform, str(self)))


class BlockedError(PlatformError):
    """The platform refuses us (block page, captcha, JS challenge, HTTP 403).

    Back off the whole platform, never record "zero views".

    :param until: when to try the platform again (aware datetime), or None for the
        caller's default pause.
    """

    def __init__(self, message: str, *, platform: str | None = None, until: datetime | None = None) -> None:
        super().__init__(message, platform=platform)
        self.until = until


class QuotaExceededError(BlockedError):
    """YouTube's daily quota is used up; ``until`` is the next midnight Pacific time."""

    def __init__(self, message: str, *, platform: str | None = "youtube", now: datetime | None = None) -> None:
        super().__init__(message, platform=platform, until=next_pacific_midnight(now))


class ConfigurationError(PlatformError):
    """Our own settings are wrong (invalid API key, missing token): fix and restart."""


class AmbiguousOutcomeError(PlatformError):
    """A call that changes something may have been carried out (a timeout, reset or 5xx
    after the request left): reconcile first; never sent again blindly."""


class Failure(StrEnum):
    """What a failed outside call is, for whoever decides whether to call again."""

    TRANSIENT = "transient"  # passes: connection errors, timeouts, 5xx, 429 (with its Retry-After)
    BAD_RESPONSE = "bad_response"  # an answer we cannot parse: may be a truncated body, may be a new layout
    AMBIGUOUS = "ambiguous"  # maybe done: reconcile before any new attempt
    PERMANENT = "permanent"  # 4xx, not found, blocked, quota, configuration, bugs: the same call fails again


def is_transient_status(status: int) -> bool:
    """Whether an HTTP status passes on its own (429 and 5xx); any other 4xx is the request's fault."""
    return status == 429 or status >= 500


def classify(exc: BaseException) -> Failure:
    """The kind of failure ``exc`` is, for every outside service (Bot API errors included)."""
    if isinstance(exc, TransientError):
        return Failure.TRANSIENT
    if isinstance(exc, BadResponseError):
        return Failure.BAD_RESPONSE
    if isinstance(exc, AmbiguousOutcomeError):
        return Failure.AMBIGUOUS
    return _telegram_failure(exc) or Failure.PERMANENT


def _telegram_failure(exc: BaseException) -> Failure | None:
    """Bot API errors: flood control (429), network errors and 5xx pass; a bad request,
    a chat that blocked the bot or a file too large fail the same way again."""
    if "aiogram" not in sys.modules:  # aiogram not loaded: exc cannot be one of its errors
        return None
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramEntityTooLarge,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
    )

    if isinstance(exc, TelegramEntityTooLarge):  # a TelegramNetworkError, but the same file stays too large
        return Failure.PERMANENT
    if isinstance(exc, (TelegramRetryAfter, TelegramNetworkError, TelegramServerError)):
        return Failure.TRANSIENT
    return Failure.PERMANENT if isinstance(exc, TelegramAPIError) else None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the service asked us to wait before calling again (Retry-After, Telegram's
    ``retry_after``), or None when it did not say."""
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, (int, float)) else None


def next_pacific_midnight(now: datetime | None = None) -> datetime:
    """The next midnight in America/Los_Angeles, as an aware UTC datetime.

    :param now: the current moment (aware); default: the real clock.
    """
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return midnight.astimezone(timezone.utc)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date).

    :param value: the header value, or None.
    :param now: the current moment for HTTP-date values; default: the real clock.
    :returns: non-negative seconds, or None when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
