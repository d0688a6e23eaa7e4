"""Which users rows changed, as PostgreSQL announces them (migration 0197).

A trigger on ``users`` sends the Telegram id of every updated or deleted row on the
``zenith_users_changed`` channel when its transaction commits; a process that keeps rows
in memory listens here and drops each one it is told about.
"""

from __future__ import annotations

from typing import AsyncIterator, Callable

import psycopg

CHANNEL = "zenith_users_changed"
APPLICATION_NAME = "zenith-user-rows"  # how the listening connection shows in pg_stat_activity

# Rows kept in this very process are also dropped at once by the writes made here: the
# announcement comes a few milliseconds after the commit, and the next read in this process
# (a test's next message, a handler after a button) may come sooner. Dropping before the
# commit is safe: a read between the drop and the commit keeps the old row only until the
# announcement drops it again.
_local: list[Callable[[int], None]] = []


def on_local_change(drop: Callable[[int], None]) -> Callable[[], None]:
    """Call ``drop(telegram_id)`` on each users row written by this process; returns the undo."""
    _local.append(drop)
    return lambda: _local.remove(drop) if drop in _local else None


def changed_here(telegram_id: int) -> None:
    """A users row was written by this process (called by `zenith.storage.users`)."""
    for drop in list(_local):
        drop(telegram_id)


async def changed_telegram_ids(
    url: str,
    *,
    on_listening: Callable[[], None] | None = None,
    connect_timeout: float = 5.0,
    probe_every: float = 30.0,
) -> AsyncIterator[int]:
    """Yield the Telegram id of each users row changed from now on.

    Parameters:
      url: PostgreSQL URL.
      on_listening: called once LISTEN is in place: changes committed after this call are
        all yielded (earlier ones are not).
      connect_timeout: seconds to connect.
      probe_every: after this many seconds without a change, a ``SELECT 1`` checks the
        connection is still there (a lost server is otherwise silent).

    Ends with the connection's error (``psycopg.OperationalError``) when the connection is
    lost; the caller reconnects and must assume it missed changes meanwhile.
    """
    conn = await psycopg.AsyncConnection.connect(
        url, autocommit=True, connect_timeout=max(1, int(connect_timeout)), application_name=APPLICATION_NAME
    )
    try:
        await conn.execute(f"LISTEN {CHANNEL}")
        if on_listening is not None:
            on_listening()
        while True:
            async for notify in conn.notifies(timeout=probe_every):
                try:
                    changed = int(notify.payload)
                except ValueError:  # not ours: nothing to drop
                    continue
                yield changed
            # a quiet channel or a dead server look the same from here: ask the server
            await conn.execute("SELECT 1")
    finally:
        await conn.close()
