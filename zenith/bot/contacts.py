"""The senders of one burst of updates read from PostgreSQL together.

A creator's first message since the bot started (or since their kept row went stale) reads
their users row and marks them seen (`zenith.storage.users.contact`). After a restart, or
when many creators write at once, every update of a burst does that: one pool connection
and one statement each. Here the senders whose updates reach the read in the same turn of
the loop share one connection and, when known, one statement
(`zenith.storage.users.contact_known`); only first contacts and changed names go through
`contact` one by one, each failing alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timezone

from psycopg_pool import AsyncConnectionPool

from zenith.storage import users
from zenith.storage.turn_batch import TurnBatch
from zenith.storage.users import Contact


class SenderReads(TurnBatch[Contact]):
    """``await reads.call(Contact(...))``: the sender's `users.User`, as `users.contact` returns it.

    Parameters:
      pool: the async PostgreSQL pool.
      timeout: seconds the whole batch may take, connection included (the bot's database deadline).
    """

    def __init__(self, *, pool: AsyncConnectionPool, timeout: float) -> None:
        super().__init__()
        self.pool = pool
        self.timeout = timeout

    async def run_batch(self, items: Sequence[Contact]) -> list[users.User | Exception]:
        now = datetime.now(timezone.utc)
        async with asyncio.timeout(self.timeout), self.pool.connection() as conn:
            known = await users.contact_known(conn, list(items), now=now)
            result: list[users.User | Exception] = []
            for item, user in zip(items, known, strict=True):
                if user is None:
                    try:
                        user = await users.contact(
                            conn,
                            telegram_id=item.telegram_id,
                            language=item.language,
                            now=now,
                            username=item.username,
                            first_name=item.first_name,
                        )
                    except Exception as exc:  # this sender's update fails, not the burst's
                        result.append(exc)
                        continue
                result.append(user)
            return result
