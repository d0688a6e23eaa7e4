"""Storage test helpers: users with unique telegram ids on the shared session database."""

from __future__ import annotations

import itertools
import os

import pytest

from zenith.storage import users

# unique per process and test run, so several runs can share one session database
_telegram_ids = itertools.count(os.getpid() * 1_000_000 + 1)


@pytest.fixture
def new_telegram_id():
    def factory() -> int:
        return next(_telegram_ids)

    return factory


@pytest.fixture
def make_user(pool, new_telegram_id):
    """Create a user (with ledger accounts) and return it."""

    async def factory(**fields) -> users.User:
        async with pool.connection() as conn:
            return await users.get_or_create(
                conn, telegram_id=new_telegram_id(), language=fields.pop("language", "en"), **fields
            )

    return factory
