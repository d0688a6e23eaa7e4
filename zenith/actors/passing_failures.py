"""Failures that pass on their own are retried without an ERROR traceback.

A platform answering 5xx or 429 more often than its client's own retries absorb is an
expected moment, not a fault: the message is retried later and nobody must act. Raised
as is, Dramatiq would log it as "unhandled exception" at ERROR with a traceback, which
pages an operator for nothing. `retried_quietly` wraps an actor so such an exception
becomes `PassingFailure` (a `dramatiq.Retry`): one WARNING line, the same retries and
backoff (or the platform's Retry-After), the original exception kept as its cause.
The actor's own handling (e.g. telling the creator on the last attempt) sees the
original exception first: the wrapper is outside it.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, Callable

import dramatiq

from zenith.platforms.errors import TransientError

logger = logging.getLogger(__name__)

PASSING = (TransientError,)


class PassingFailure(dramatiq.Retry):
    """A passing failure of an actor: retried like any failure, not logged as an error."""


def _as_retry(actor_name: str, exc: TransientError) -> PassingFailure:
    delay = int(exc.retry_after * 1000) if exc.retry_after else None  # None: the actor's backoff
    logger.warning(
        "%s: %s: %s; retried%s", actor_name, type(exc).__name__, exc, f" in {delay} ms" if delay else " with backoff"
    )
    return PassingFailure(f"{type(exc).__name__}: {exc}", delay=delay)


def retried_quietly(actor_name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` (async or not), with passing failures raised as `PassingFailure`."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except PASSING as exc:
                raise _as_retry(actor_name, exc) from exc

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PASSING as exc:
            raise _as_retry(actor_name, exc) from exc

    return run
