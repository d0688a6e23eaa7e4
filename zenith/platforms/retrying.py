"""One retry policy (tenacity) per outside service: YouTube, TikTok, Instagram, Crypto Pay,
short-link resolution and the Telegram Bot API.

What a failure is comes from ``errors.classify`` alone: a transient one is retried up to
``attempts`` calls, an unreadable answer up to ``bad_response_attempts``; an ambiguous one
(a Crypto Pay transfer that may have happened) and a permanent one are raised at once.
Waits back off exponentially with jitter up to ``max_wait`` and are never shorter than the
service's Retry-After; a Retry-After longer than ``max_retry_after`` is not slept through
in-process: the error is raised so the caller can reschedule the work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from zenith.platforms.errors import Failure, classify, retry_after_of
from zenith.telemetry.metrics import get_metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry the calls of one service.

    :param service: the service's name, for logs and for ``platform_errors_total`` when an
        error does not name its platform.
    :param attempts: calls in total, first one included.
    :param bad_response_attempts: calls in total when the answer is unparseable
        (a changed layout does not fix itself).
    :param initial_wait: first backoff in seconds, doubled each time.
    :param max_wait: longest single backoff.
    :param jitter: up to this many random seconds added to each backoff.
    :param max_retry_after: a Retry-After longer than this is raised, not waited.
    """

    service: str
    attempts: int = 4
    bad_response_attempts: int = 2
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def retries(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another call under this policy."""
        failure = classify(exc)
        if failure is Failure.TRANSIENT:
            retry_after = retry_after_of(exc)
            return retry_after is None or retry_after <= self.max_retry_after
        return failure is Failure.BAD_RESPONSE

    async def call(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        label: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> T:
        """``await fn(*args, **kwargs)``, retried under this policy; the last error is re-raised.

        :param label: what is called, for the log line of each retry (default: the service).
        :param sleep: the sleeping function (tests pass a recorder).
        """
        # The first call runs bare: nearly every call succeeds, and building tenacity's
        # retry state per call was a few per cent of the bot's CPU per update. A failure
        # is handed to tenacity as its first attempt, so attempts, waits and logs are the same.
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            first_failure: Exception | None = exc

        async def attempt() -> T:
            nonlocal first_failure
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return await fn(*args, **kwargs)

        retrying = AsyncRetrying(
            sleep=sleep,
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(self.retries),
            before_sleep=lambda state: self._log_retry(state, label),
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except Exception as exc:
            # the last failed attempt, which before_sleep never sees; blocked, permanent and
            # ambiguous outcomes are not call failures and are counted by whoever handles them
            if classify(exc) in (Failure.TRANSIENT, Failure.BAD_RESPONSE):
                self._count_failed_call(exc)
            raise

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        bad = exc is not None and classify(exc) is Failure.BAD_RESPONSE
        return state.attempt_number >= (self.bad_response_attempts if bad else self.attempts)

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(multiplier=self.initial_wait, max=self.max_wait, jitter=self.jitter)(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = retry_after_of(exc) if exc is not None else None
        return max(backoff, retry_after) if retry_after is not None else backoff

    def _log_retry(self, state: RetryCallState, label: str | None) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s failed (%s: %s); retry %d/%d in %.2fs",
            label or self.service,
            type(exc).__name__,
            exc,
            state.attempt_number,
            self.attempts - 1,
            wait,
        )
        if exc is not None:  # every failed attempt counts, including those a retry then hides
            self._count_failed_call(exc)

    def _count_failed_call(self, exc: BaseException) -> None:
        platform = getattr(exc, "platform", None) or self.service
        get_metrics().platform_errors.labels(platform=platform, kind=error_kind(exc)).inc()


def error_kind(exc: BaseException | None) -> str:
    """Label of a failed call for ``platform_errors_total{kind}``: http_429, http_5xx, network, bad_response, ..."""
    status = getattr(exc, "status", None)
    if status == 429 or (status is None and exc is not None and retry_after_of(exc) is not None):
        return "http_429"  # Telegram's flood control has no status, only its retry_after
    if isinstance(status, int):
        return f"http_{status // 100}xx"
    if exc is None:
        return "unknown"
    failure = classify(exc)
    if failure is Failure.BAD_RESPONSE:
        return "bad_response"
    if failure is Failure.TRANSIENT:
        return "network"
    return type(exc).__name__.lower()


# The view-count adapters run in workers: a few patient retries, then the message's own
# re-sends (parsing) or Dramatiq's backoff take over.
YOUTUBE = RetryPolicy("youtube", attempts=4, bad_response_attempts=2, initial_wait=0.5, max_wait=30.0)
TIKTOK = RetryPolicy("tiktok", attempts=4, bad_response_attempts=2, initial_wait=0.5, max_wait=30.0)
INSTAGRAM = RetryPolicy("instagram", attempts=4, bad_response_attempts=2, initial_wait=0.5, max_wait=30.0)
# Money: short waits, few tries; a transfer is sent again only when it never left (its
# ambiguous outcomes are AMBIGUOUS, reconciled by the payouts actor), with the same spend_id.
CRYPTO_PAY = RetryPolicy(
    "cryptopay", attempts=3, bad_response_attempts=2, initial_wait=0.5, max_wait=5.0, jitter=0.25, max_retry_after=10.0
)
# A creator waits for the answer to a short link.
SHORT_LINKS = RetryPolicy(
    "http", attempts=3, bad_response_attempts=1, initial_wait=0.25, max_wait=2.0, jitter=0.25, max_retry_after=5.0
)
# A bot handler must not hang: flood waits up to 30 s are honoured, longer ones are raised.
TELEGRAM = RetryPolicy(
    "telegram", attempts=4, bad_response_attempts=1, initial_wait=0.5, max_wait=5.0, jitter=0.5, max_retry_after=30.0
)
# The notifications actor holds the chat and re-sends the notice after a flood wait instead
# of sleeping (docs/actors.md): its Bot raises every 429 at once, retrying only network errors and 5xx.
TELEGRAM_NOTICES = replace(TELEGRAM, max_retry_after=0.0)
