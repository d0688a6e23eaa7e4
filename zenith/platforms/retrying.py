"""Bounded retries (tenacity) around platform calls.

Only ``TransientError`` and ``BadResponseError`` are retried: exponential backoff with
jitter, never shorter than the platform's ``retry_after``. ``PermanentError``,
``BlockedError`` (and so quota), ``ConfigurationError`` and every Crypto Pay transfer
outcome are raised at once. A ``retry_after`` longer than ``max_retry_after`` is not
slept through in-process: the error is raised so the caller can reschedule the work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from zenith.platforms.errors import BadResponseError, PlatformError, TransientError
from zenith.telemetry.metrics import get_metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry.

    :param attempts: calls in total, first one included. Default 4.
    :param bad_response_attempts: calls in total when the answer is unparseable
        (a changed layout does not fix itself). Default 2.
    :param initial_wait: first backoff in seconds, doubled each time. Default 0.5.
    :param max_wait: longest single backoff. Default 30.
    :param jitter: up to this many random seconds added to each wait. Default 0.5.
    :param max_retry_after: a Retry-After longer than this is raised, not waited. Default 60.
    """

    attempts: int = 4
    bad_response_attempts: int = 2
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 60.0


DEFAULT_POLICY = RetryPolicy()
# For tests and interactive paths: retry quickly.
FAST_POLICY = RetryPolicy(
    attempts=3, bad_response_attempts=2, initial_wait=0.01, max_wait=0.05, jitter=0.0, max_retry_after=1.0
)


def is_retryable(exc: BaseException, policy: RetryPolicy = DEFAULT_POLICY) -> bool:
    """Whether ``exc`` is worth another try under ``policy``."""
    if isinstance(exc, TransientError):
        return exc.retry_after is None or exc.retry_after <= policy.max_retry_after
    return isinstance(exc, BadResponseError)


class _Stop:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = self.policy.bad_response_attempts if isinstance(exc, BadResponseError) else self.policy.attempts
        return state.attempt_number >= limit


class _Wait:
    def __init__(self, policy: RetryPolicy) -> None:
        self.backoff = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = self.backoff(state)
        retry_after = getattr(exc, "retry_after", None)
        return max(delay, retry_after) if retry_after is not None else delay


def error_kind(exc: BaseException | None) -> str:
    """Label of a failed call for ``platform_errors_total{kind}``: http_429, http_5xx, network, bad_response, ..."""
    status = getattr(exc, "status", None)
    if status == 429:
        return "http_429"
    if isinstance(status, int):
        return f"http_{status // 100}xx"
    if isinstance(exc, BadResponseError):
        return "bad_response"
    if isinstance(exc, TransientError):
        return "network"
    return type(exc).__name__.lower()


def _count_failed_call(exc: BaseException | None) -> None:
    get_metrics().platform_errors.labels(
        platform=getattr(exc, "platform", None) or "unknown", kind=error_kind(exc)
    ).inc()


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning("retrying after %s (attempt %d, waiting %.2fs)", exc, state.attempt_number, wait)
    # every failed attempt counts, including those a retry then hides
    _count_failed_call(exc)


async def call_with_retry(
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **kwargs: Any,
) -> T:
    """``await fn(*args, **kwargs)``, retried under ``policy``; the last error is re-raised.

    :param sleep: the sleeping function (tests pass a recorder).
    """
    retrying = AsyncRetrying(
        sleep=sleep,
        stop=_Stop(policy),
        wait=_Wait(policy),
        retry=retry_if_exception(lambda exc: is_retryable(exc, policy)),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        return await retrying(fn, *args, **kwargs)
    except PlatformError as exc:
        # the last failed attempt, which before_sleep never sees; blocked and permanent
        # outcomes are not call failures and are counted by whoever handles them
        if isinstance(exc, (TransientError, BadResponseError)):
            _count_failed_call(exc)
        raise
