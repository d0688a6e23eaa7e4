"""PostgreSQL connections: one async pool per process and a unit of work per transaction.

Pool connections run in autocommit mode, so a plain read never leaves a transaction
open; everything that writes more than one row goes through ``unit_of_work``, which
wraps the block in exactly one transaction (commit on success, rollback on error).
Rows come back as dicts (``dict_row``).
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from zenith import fast_json

# json and jsonb columns (outbox notices, cached answers) read by orjson, with the json
# module's result wherever the two differ (zenith.fast_json)
set_json_loads(fast_json.loads)

logger = logging.getLogger(__name__)

Row = dict[str, Any]
Query = str | sql.SQL | sql.Composed
Params = Sequence[Any] | Mapping[str, Any] | None


class DatabaseUnavailable(RuntimeError):
    """The pool could not open its first connections within the timeout."""


# A connection handed back to the pool this recently is handed out again without the
# check's round trip: a bot update takes a connection two or three times in a few
# milliseconds, and the check cost one extra round trip each time.
RECENTLY_USED_SECONDS = 1.0


class MissingRow(LookupError):
    """A statement that always returns a row (``count(*)``, ``INSERT ... RETURNING``) returned none."""


async def _configure(conn: psycopg.AsyncConnection) -> None:
    await conn.set_autocommit(True)


async def _mark_returned(conn: psycopg.AsyncConnection) -> None:
    conn._zenith_returned_at = time.monotonic()  # type: ignore[attr-defined]


async def _check_unless_recent(conn: psycopg.AsyncConnection) -> None:
    """``check_connection`` for a connection idle longer than RECENTLY_USED_SECONDS."""
    if time.monotonic() - getattr(conn, "_zenith_returned_at", float("-inf")) < RECENTLY_USED_SECONDS:
        return
    await AsyncConnectionPool.check_connection(conn)


async def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 30.0,
    name: str = "zenith",
) -> AsyncConnectionPool:
    """Open an async pool on ``url`` and wait until its first connections work.

    Parameters:
      url: PostgreSQL URL (``postgresql://user@host:port/db``).
      min_size: connections kept open (default 1).
      max_size: connections at most (default 10).
      timeout: seconds to wait for the first connections and, later, for a free one
        (default 30).
      name: pool name shown in psycopg_pool logs and stats.

    Every connection idle for more than RECENTLY_USED_SECONDS is checked before it is
    handed out (``check_connection``), so a connection killed by a server restart is
    replaced instead of failing a request.
    Raises ``DatabaseUnavailable`` if the server cannot be reached within ``timeout``.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        name=name,
        open=False,
        kwargs={"row_factory": dict_row},
        configure=_configure,
        reset=_mark_returned,
        check=_check_unless_recent,
    )
    try:
        await pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        await pool.close()
        raise DatabaseUnavailable(f"PostgreSQL not reachable within {timeout}s: {redact_url(url)}") from exc
    logger.info("database pool %s open (min %d, max %d) on %s", name, min_size, max_size, redact_url(url))
    return pool


@asynccontextmanager
async def unit_of_work(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection]:
    """Yield a pool connection inside one transaction: commit on success, roll back on error.

    Use it around every group of writes that must happen together (a snapshot and its
    earning credit, a payout and its reservation)::

        async with unit_of_work(pool) as conn:
            await ledger.transfer(conn, ...)
    """
    async with pool.connection() as conn:
        async with conn.transaction():
            yield conn


async def ping(pool: AsyncConnectionPool) -> None:
    """Run a trivial query on a pool connection; raises when PostgreSQL does not answer."""
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """One autocommit connection with ``dict_row``, closed at the end (CLI commands, tests)."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
    try:
        yield conn
    finally:
        await conn.close()


@contextmanager
def connect_sync(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A synchronous autocommit connection with ``dict_row`` (CLI commands, scripts)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def redact_url(url: str) -> str:
    """The URL without its password, for log lines."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


async def fetch_one(conn: psycopg.AsyncConnection[Any], query: Query, params: Params = None) -> Row | None:
    """Run ``query`` and return its first row as a dict (whatever the connection's row factory)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchone()


async def fetch_row(conn: psycopg.AsyncConnection[Any], query: Query, params: Params = None) -> Row:
    """``fetch_one`` for a statement that always returns a row; ``MissingRow`` if it did not."""
    row = await fetch_one(conn, query, params)
    if row is None:
        raise MissingRow(f"no row from: {str(query).strip()[:80]}")
    return row


async def fetch_all(conn: psycopg.AsyncConnection[Any], query: Query, params: Params = None) -> list[Row]:
    """Run ``query`` and return all rows as dicts (whatever the connection's row factory)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


Statement = tuple[Query, Params]


async def fetch_all_together(conn: psycopg.AsyncConnection[Any], statements: Sequence[Statement]) -> list[list[Row]]:
    """The rows of each of ``statements`` (dicts), all sent in one round trip.

    For reads that do not depend on each other: psycopg's pipeline mode sends them one
    after the other and waits once, where running them in turn waits once per statement
    (a round trip costs the caller 100-250 us of CPU on a small host, more than a short
    query takes the server).
    """
    cursors = []
    async with conn.pipeline():
        for query, params in statements:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query, params)
            cursors.append(cursor)
    # the pipeline's end waited for every result
    rows = []
    for cursor in cursors:
        rows.append(await cursor.fetchall())
        await cursor.close()
    return rows
