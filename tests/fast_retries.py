"""Retry policies with the production attempts and millisecond waits, for tests."""

from __future__ import annotations

from dataclasses import replace

from zenith.platforms.retrying import RetryPolicy


def fast(policy: RetryPolicy, **changes: object) -> RetryPolicy:
    """``policy`` with the same attempts, waiting milliseconds (Retry-After capped at 1 s)."""
    quick: dict[str, object] = {"initial_wait": 0.01, "max_wait": 0.05, "jitter": 0.0, "max_retry_after": 1.0}
    return replace(policy, **{**quick, **changes})  # type: ignore[arg-type]


# the view-count adapters of tests: three calls, two for an unreadable answer
FAST_POLICY = fast(RetryPolicy("test"), attempts=3, bad_response_attempts=2)
