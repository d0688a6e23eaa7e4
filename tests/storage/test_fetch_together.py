"""``fetch_all_together``: independent reads in one round trip, each with its own rows."""

from __future__ import annotations

import tempfile

import psycopg
import pytest

from zenith.storage.db import fetch_all_together, fetch_row


async def test_each_statement_gets_its_rows_from_one_round_trip(pool):
    async with pool.connection() as conn:
        with tempfile.TemporaryFile("w+") as trace:
            conn.pgconn.trace(trace.fileno())
            # lines of direction, length, message name, ... (tab-separated)
            conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
            try:
                first, second, empty = await fetch_all_together(
                    conn,
                    [
                        ("SELECT %s::int AS n", (1,)),
                        ("SELECT n FROM generate_series(1, %(upto)s) AS n ORDER BY n", {"upto": 3}),
                        ("SELECT 1 AS n WHERE false", None),
                    ],
                )
            finally:
                conn.pgconn.untrace()
            trace.seek(0)
            messages = [line.split("\t")[2].strip() for line in trace if line.count("\t") >= 2]
        assert first == [{"n": 1}] and second == [{"n": 1}, {"n": 2}, {"n": 3}] and empty == []
        # sent as one batch: three queries, then one Sync and the answers
        assert messages.count("Execute") == 3 and messages.count("Sync") == 1, messages
        assert messages.index("Sync") > max(i for i, m in enumerate(messages) if m == "Execute"), messages
        assert (await fetch_row(conn, "SELECT 2 AS n"))["n"] == 2  # the connection is back to normal


async def test_a_failing_statement_raises_and_leaves_the_connection_usable(pool):
    async with pool.connection() as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await fetch_all_together(conn, [("SELECT 1 AS n", None), ("SELECT 1 / 0 AS n", None)])
        assert (await fetch_row(conn, "SELECT 3 AS n"))["n"] == 3
