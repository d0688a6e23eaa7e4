"""The retry policies: which errors are retried, how long they wait, when they stop."""

from __future__ import annotations

import pytest

from zenith.platforms.errors import (
    NOT_FOUND,
    BadResponseError,
    BlockedError,
    PermanentError,
    QuotaExceededError,
    TransientError,
)
from zenith.platforms.retrying import RetryPolicy

POLICY = RetryPolicy(
    "test", attempts=4, bad_response_attempts=2, initial_wait=1.0, max_wait=8.0, jitter=0.0, max_retry_after=30.0
)


class Script:
    """An async callable that raises the scripted errors, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.fixture
def sleeps():
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    sleep.recorded = recorded
    return sleep


async def test_transient_is_retried_with_exponential_backoff(sleeps):
    fn = Script(TransientError("a"), TransientError("b"), TransientError("c"))
    assert await POLICY.call(fn, sleep=sleeps) == "ok"
    assert fn.calls == 4
    assert sleeps.recorded == [1.0, 2.0, 4.0]


async def test_retry_after_is_honoured(sleeps):
    fn = Script(TransientError("429", retry_after=7.5))
    assert await POLICY.call(fn, sleep=sleeps) == "ok"
    assert sleeps.recorded == [7.5]


async def test_long_retry_after_is_raised_not_slept(sleeps):
    fn = Script(TransientError("429", retry_after=3600))
    with pytest.raises(TransientError):
        await POLICY.call(fn, sleep=sleeps)
    assert fn.calls == 1 and sleeps.recorded == []


async def test_attempts_are_bounded(sleeps):
    fn = Script(*[TransientError(str(n)) for n in range(10)])
    with pytest.raises(TransientError, match="3"):
        await POLICY.call(fn, sleep=sleeps)
    assert fn.calls == 4


async def test_bad_response_has_fewer_attempts(sleeps):
    fn = Script(BadResponseError("x"), BadResponseError("y"), BadResponseError("z"))
    with pytest.raises(BadResponseError, match="y"):
        await POLICY.call(fn, sleep=sleeps)
    assert fn.calls == 2


@pytest.mark.parametrize(
    "error",
    [PermanentError("gone", reason=NOT_FOUND), BlockedError("captcha"), QuotaExceededError("quota"), ValueError("bug")],
)
async def test_never_retried(error, sleeps):
    fn = Script(error)
    with pytest.raises(type(error)):
        await POLICY.call(fn, sleep=sleeps)
    assert fn.calls == 1 and sleeps.recorded == []


def test_parse_retry_after_seconds_and_http_date():
    from datetime import datetime, timezone

    from zenith.platforms.errors import parse_retry_after

    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def _failed_calls(kind: str) -> float:
    from zenith.telemetry.metrics import get_metrics

    value = get_metrics().platform_errors.labels(platform="test", kind=kind)._value.get()
    return value


async def test_every_failed_call_is_counted_once_including_the_last(sleeps):
    before = _failed_calls("network")
    fn = Script(*[TransientError(str(n)) for n in range(10)])
    with pytest.raises(TransientError):
        await POLICY.call(fn, sleep=sleeps)
    assert _failed_calls("network") - before == fn.calls == 4


async def test_blocked_and_permanent_outcomes_are_not_counted_as_failed_calls(sleeps):
    before = {kind: _failed_calls(kind) for kind in ("blockederror", "permanenterror", "network")}
    for error in (BlockedError("captcha"), PermanentError("gone", reason=NOT_FOUND)):
        with pytest.raises(type(error)):
            await POLICY.call(Script(error), sleep=sleeps)
    assert {kind: _failed_calls(kind) for kind in before} == before


async def test_a_call_that_succeeds_builds_no_retry_state(monkeypatch, sleeps):
    """The bot's every Bot API call goes through a policy: the first attempt runs bare."""
    from zenith.platforms import retrying

    def no_tenacity(*args, **kwargs):
        raise AssertionError("tenacity built for a call that succeeded")

    monkeypatch.setattr(retrying, "AsyncRetrying", no_tenacity)
    fn = Script()
    assert await POLICY.call(fn, sleep=sleeps) == "ok"
    assert fn.calls == 1 and sleeps.recorded == []


async def test_the_first_failure_counts_as_attempt_one(sleeps, caplog):
    """Handing the bare call's failure to tenacity keeps the attempt count, waits and log lines."""
    fn = Script(TransientError("a"), TransientError("b"), TransientError("c"), TransientError("d"))
    with pytest.raises(TransientError, match="d"):
        await POLICY.call(fn, sleep=sleeps, label="probe")
    assert fn.calls == 4 and sleeps.recorded == [1.0, 2.0, 4.0]
    retries = [r.getMessage() for r in caplog.records if "probe failed" in r.getMessage()]
    assert [line.split("retry ")[1].split(" ")[0] for line in retries] == ["1/3", "2/3", "3/3"]
