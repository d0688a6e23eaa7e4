"""The notice outbox: notices to creators stored with the state change they report.

An actor adds the notice (``add``) inside the unit of work that commits the change, so
the two are durable together; after the commit it enqueues the notify message and
stamps the row enqueued (``mark_enqueued``). The row counts as sent only when the
notifications actor confirms it (``confirm_sent``: Telegram answered, or the notice can
never be delivered), because the broker may lose an enqueued message. The clock claims
rows never enqueued after a short grace, and rows enqueued but unconfirmed after a
longer wait (``claim_unsent``, ``FOR UPDATE SKIP LOCKED``: two clocks never relay the
same row), re-sends them and stamps them enqueued again in the same transaction. Every
row carries the notifications actor's dedup key (unique here too), so an original send
plus a relay still reach the creator once. Sent rows are deleted after a retention
period (``purge_sent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from zenith.storage.db import Row, fetch_all, fetch_one, fetch_row


class InvalidNotice(ValueError):
    """A notice without a dedup key or a catalogue key, or with parameters that are not a dict."""


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    user_id: int
    key: str
    params: dict[str, Any]
    dedup_key: str
    created_at: datetime
    sent_at: datetime | None
    relays: int
    enqueued_at: datetime | None = None


_COLUMNS = "id, user_id, key, params, dedup_key, created_at, sent_at, relays, enqueued_at"


def _entry(row: Row) -> OutboxEntry:
    return OutboxEntry(**row)


async def add(
    conn: psycopg.AsyncConnection, *, user_id: int, key: str, params: dict[str, Any], dedup_key: str
) -> OutboxEntry | None:
    """Store a notice for ``user_id``; None when ``dedup_key`` was stored before (a replay).

    Parameters:
      user_id: users.id of the recipient.
      key: i18n catalogue key of the notice.
      params: template parameters, JSON values only (money as decimal strings).
      dedup_key: the notifications actor's dedup key; one row per key.

    Call it inside the unit of work of the change the notice reports.
    """
    if not dedup_key or not key:
        raise InvalidNotice("an outbox notice needs a catalogue key and a dedup key")
    if not isinstance(params, dict):
        raise InvalidNotice(f"notice parameters must be a dict, not {type(params).__name__}")
    row = await fetch_one(
        conn,
        f"""
        INSERT INTO outbox (user_id, key, params, dedup_key) VALUES (%s, %s, %s, %s)
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        (user_id, key, Jsonb(params), dedup_key),
    )
    return _entry(row) if row else None


async def mark_enqueued(conn: psycopg.AsyncConnection, *, ids: list[int]) -> int:
    """Stamp unconfirmed rows ``ids`` handed to the broker now; returns how many changed."""
    if not ids:
        return 0
    rows = await fetch_all(
        conn, "UPDATE outbox SET enqueued_at = now() WHERE id = ANY(%s) AND sent_at IS NULL RETURNING id", (list(ids),)
    )
    return len(rows)


async def confirm_sent(conn: psycopg.AsyncConnection, *, dedup_key: str) -> bool:
    """The notifications actor is done with ``dedup_key`` (delivered, or undeliverable):
    the row stops being relayed. False when there is no unconfirmed row for it."""
    cursor = await conn.execute(
        "UPDATE outbox SET sent_at = now(), enqueued_at = coalesce(enqueued_at, now()) WHERE dedup_key = %s AND sent_at IS NULL",
        (dedup_key,),
    )
    return cursor.rowcount == 1


async def claim_unsent(
    conn: psycopg.AsyncConnection,
    *,
    created_before: datetime,
    now: datetime | None = None,
    resend_after: timedelta | None = None,
    max_relays: int | None = None,
    limit: int = 100,
) -> list[OutboxEntry]:
    """The oldest unconfirmed rows to relay, locked.

    Parameters:
      created_before: rows never enqueued and younger than this are left to their sender.
      now, resend_after: rows enqueued (by the sender or a relay) but not confirmed within
        ``resend_after`` of ``now`` are relayed too (the broker lost the message); the wait
        doubles with each relay (at most x64), so a notice that keeps failing is not sent
        every minute. None: only rows never enqueued.
      max_relays: rows relayed this many times are left alone (None: no limit).
      limit: rows at most (default 100).

    ``FOR UPDATE SKIP LOCKED``: run it inside a unit of work, send, then ``mark_relayed``
    in the same transaction; a concurrent relay skips the locked rows.
    """
    rows = await fetch_all(
        conn,
        f"""
        SELECT {_COLUMNS} FROM outbox
        WHERE sent_at IS NULL
          AND CASE WHEN enqueued_at IS NULL THEN created_at < %(created)s
                   ELSE enqueued_at + %(resend)s::interval * least(power(2, relays), 64) < %(now)s::timestamptz END
          AND (%(max_relays)s::int IS NULL OR relays < %(max_relays)s::int)
        ORDER BY coalesce(enqueued_at, created_at), id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
        """,
        {"created": created_before, "now": now, "resend": resend_after, "max_relays": max_relays, "limit": limit},
    )
    return [_entry(row) for row in rows]


async def mark_relayed(conn: psycopg.AsyncConnection, *, ids: list[int], now: datetime | None = None) -> int:
    """Stamp claimed rows ``ids`` enqueued at ``now`` (default: the database's now) and
    count the relay; returns how many changed."""
    if not ids:
        return 0
    rows = await fetch_all(
        conn,
        "UPDATE outbox SET enqueued_at = coalesce(%s, now()), relays = relays + 1 WHERE id = ANY(%s) AND sent_at IS NULL RETURNING id",
        (now, list(ids)),
    )
    return len(rows)


async def purge_sent(conn: psycopg.AsyncConnection, *, sent_before: datetime, limit: int = 1000) -> int:
    """Delete at most ``limit`` rows sent before ``sent_before``; returns how many."""
    rows = await fetch_all(
        conn,
        """
        DELETE FROM outbox WHERE id IN (
            SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < %s ORDER BY sent_at LIMIT %s
        ) RETURNING id
        """,
        (sent_before, limit),
    )
    return len(rows)


async def get(conn: psycopg.AsyncConnection, *, dedup_key: str) -> OutboxEntry | None:
    """The row of ``dedup_key``, or None (never stored, or purged)."""
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM outbox WHERE dedup_key = %s", (dedup_key,))
    return _entry(row) if row else None


async def count_unsent(conn: psycopg.AsyncConnection) -> int:
    """Rows not confirmed sent yet (waiting for their sender, the broker or the relay)."""
    row = await fetch_row(conn, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
    return int(row["n"])


@dataclass(frozen=True)
class NewNotice:
    """One notice of ``add_many``: the arguments of ``add``."""

    user_id: int
    key: str
    params: dict[str, Any]
    dedup_key: str


async def add_many(conn: psycopg.AsyncConnection, notices: list[NewNotice]) -> list[OutboxEntry]:
    """``add`` for many notices in one statement; returns the entries stored now (replays left out)."""
    if not notices:
        return []
    for notice in notices:
        if not notice.dedup_key or not notice.key:
            raise InvalidNotice("an outbox notice needs a catalogue key and a dedup key")
        if not isinstance(notice.params, dict):
            raise InvalidNotice(f"notice parameters must be a dict, not {type(notice.params).__name__}")
    rows = await fetch_all(
        conn,
        f"""
        INSERT INTO outbox (user_id, key, params, dedup_key)
        SELECT * FROM unnest(%b::bigint[], %b::text[], %b::jsonb[], %b::text[])
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        (
            [n.user_id for n in notices],
            [n.key for n in notices],
            [Jsonb(n.params) for n in notices],
            [n.dedup_key for n in notices],
        ),
    )
    order = {n.dedup_key: i for i, n in enumerate(notices)}
    return sorted((_entry(row) for row in rows), key=lambda entry: order[entry.dedup_key])
