"""OwnedSession: opened on first use, closed only when we opened it."""

import aiohttp

from zenith.platforms.http_common import OwnedSession

TIMEOUT = aiohttp.ClientTimeout(total=5)


async def test_own_session_is_opened_once_closed_and_reopened():
    owned = OwnedSession(timeout=TIMEOUT, headers={"User-Agent": "zenith-test"})
    first = await owned.get()
    assert await owned.get() is first
    assert first.headers["User-Agent"] == "zenith-test"
    await owned.close()
    assert first.closed
    second = await owned.get()
    assert second is not first and not second.closed
    await owned.close()
    assert second.closed


async def test_callers_session_is_used_and_left_open():
    async with aiohttp.ClientSession() as callers:
        owned = OwnedSession(session=callers, timeout=TIMEOUT)
        assert await owned.get() is callers
        await owned.close()
        assert not callers.closed
        assert await owned.get() is callers
