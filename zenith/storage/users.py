"""Users: creators and admins as the bot knows them, keyed by their Telegram id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import psycopg

from zenith.domain.tiers import Tier
from zenith.domain.users import UserStatus, after_contact
from zenith.storage import user_changes
from zenith.storage.db import Row, fetch_all, fetch_one, fetch_row
from zenith.storage.ledger import ensure_user_accounts

LANGUAGES = ("ru", "en")
# last_seen_at moves at most this often: one write per user per hour, not per message
SEEN_EVERY = timedelta(hours=1)


class UserNotFound(LookupError):
    """No user with that id."""


@dataclass(frozen=True)
class User:
    id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    language: str
    tier: Tier
    status: UserStatus
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None = None  # refreshed at most every SEEN_EVERY

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", Tier(self.tier))
        object.__setattr__(self, "status", UserStatus(self.status))

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}")
    return value


async def get_or_create(
    conn: psycopg.AsyncConnection,
    *,
    telegram_id: int,
    language: str,
    username: str | None = None,
    first_name: str | None = None,
) -> User:
    """The user with ``telegram_id``, created (with ledger accounts) on first contact.

    Parameters:
      telegram_id: the Telegram user id.
      language: 'ru' or 'en'; used only when the user is created (they may change it later).
      username, first_name: refreshed when Telegram reports new ones.

    A user marked inactive (had blocked the bot) who writes again becomes active; a
    banned user stays banned.
    """
    _check(language, LANGUAGES, "language")
    # every message of a known creator comes here: one read, no transaction, unless a
    # name changed or the creator comes back after blocking the bot
    row = await fetch_one(conn, "SELECT * FROM users WHERE telegram_id = %s", (telegram_id,))
    if row is not None and not _needs_refresh(row, username=username, first_name=first_name):
        return User(**row)
    async with conn.transaction():
        row = await fetch_one(
            conn,
            """
            INSERT INTO users (telegram_id, username, first_name, language) VALUES (%s, %s, %s, %s)
            ON CONFLICT (telegram_id) DO NOTHING
            RETURNING *
            """,
            (telegram_id, username, first_name, language),
        )
        if row is not None:
            await ensure_user_accounts(conn, row["id"])
            return User(**row)
        row = await fetch_one(
            conn,
            """
            UPDATE users
               SET username = coalesce(%(username)s, username),
                   first_name = coalesce(%(first_name)s, first_name),
                   status = CASE WHEN status = 'inactive' THEN 'active' ELSE status END,
                   updated_at = now()
             WHERE telegram_id = %(telegram_id)s
               AND (status = 'inactive'
                    OR username IS DISTINCT FROM coalesce(%(username)s, username)
                    OR first_name IS DISTINCT FROM coalesce(%(first_name)s, first_name))
            RETURNING *
            """,
            {"telegram_id": telegram_id, "username": username, "first_name": first_name},
        )
        if row is None:  # nothing changed: plain read, no write on every message
            row = await fetch_row(conn, "SELECT * FROM users WHERE telegram_id = %s", (telegram_id,))
        else:
            user_changes.changed_here(telegram_id)
        return User(**row)


# A known creator's message: mark them seen when it is due and read their row, in one
# statement. When nothing is due, ``marked`` is empty and the row comes from the second
# SELECT (which sees the table as the statement began).
_READ_MARKING_SEEN = """
WITH marked AS (
    UPDATE users SET last_seen_at = %(now)s
     WHERE telegram_id = %(telegram_id)s AND (last_seen_at IS NULL OR last_seen_at <= %(due)s)
    RETURNING *
)
SELECT * FROM marked
UNION ALL
SELECT * FROM users WHERE telegram_id = %(telegram_id)s AND NOT EXISTS (SELECT 1 FROM marked)
"""


async def contact(
    conn: psycopg.AsyncConnection,
    *,
    telegram_id: int,
    language: str,
    now: datetime,
    username: str | None = None,
    first_name: str | None = None,
) -> User:
    """What a message from ``telegram_id`` does to their row: `get_or_create`, then `mark_seen`
    when it is due; returns the row as it is after both.

    A known creator whose names and status stay as they are (nearly every message) costs one
    statement, marked seen or not; a first contact, a new name or a return after blocking
    the bot goes through `get_or_create`.
    """
    row = await fetch_one(conn, _READ_MARKING_SEEN, {"telegram_id": telegram_id, "now": now, "due": now - SEEN_EVERY})
    if row is not None and not _needs_refresh(row, username=username, first_name=first_name):
        return User(**row)
    user = await get_or_create(
        conn, telegram_id=telegram_id, language=language, username=username, first_name=first_name
    )
    if seen_long_ago(user, now=now):
        await mark_seen(conn, user_id=user.id, now=now)
        user = replace(user, last_seen_at=now)  # the mark alone is not announced (0197)
    return user


@dataclass(frozen=True)
class Contact:
    """One message's sender, as `contact` takes them."""

    telegram_id: int
    language: str
    username: str | None = None
    first_name: str | None = None


# `_READ_MARKING_SEEN` for many creators. Rows are locked in id order and a row another
# transaction holds is skipped (read, not marked: the next message marks it), so the
# statement never waits on a lock and two of them cannot deadlock.
_READ_MARKING_SEEN_MANY = """
WITH due AS (
    SELECT id FROM users
     WHERE telegram_id = ANY(%(telegram_ids)b) AND (last_seen_at IS NULL OR last_seen_at <= %(due)s)
     ORDER BY id
       FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE users SET last_seen_at = %(now)s FROM due WHERE users.id = due.id RETURNING users.*
)
SELECT * FROM marked
UNION ALL
SELECT * FROM users WHERE telegram_id = ANY(%(telegram_ids)b) AND id NOT IN (SELECT id FROM marked)
"""


async def contact_known(conn: psycopg.AsyncConnection, contacts: list[Contact], *, now: datetime) -> list[User | None]:
    """What `contact` returns, for the known creators among ``contacts`` whose names and status
    stay as they are (nearly every sender), in one statement; None in place of each other one
    (a first contact, a new name, a return after blocking the bot: `contact` them one by one).
    One item per contact, in order (a creator may come twice)."""
    telegram_ids = sorted({c.telegram_id for c in contacts})
    rows = await fetch_all(
        conn, _READ_MARKING_SEEN_MANY, {"telegram_ids": telegram_ids, "now": now, "due": now - SEEN_EVERY}
    )
    by_telegram_id = {row["telegram_id"]: row for row in rows}
    known: list[User | None] = []
    for c in contacts:
        row = by_telegram_id.get(c.telegram_id)
        fits = row is not None and not _needs_refresh(row, username=c.username, first_name=c.first_name)
        known.append(User(**row) if fits and row is not None else None)
    return known


def _needs_refresh(row: Row, *, username: str | None, first_name: str | None) -> bool:
    """What the UPDATE in `get_or_create` would change: an inactive status or a new name."""
    return (
        after_contact(row["status"]) != row["status"]
        or (username is not None and username != row["username"])
        or (first_name is not None and first_name != row["first_name"])
    )


def is_current(user: User, *, username: str | None, first_name: str | None, now: datetime) -> bool:
    """Whether a kept ``user`` row is what `get_or_create` would return for this contact and
    nothing is to be written: the same names, a status contact does not change, seen lately."""
    return not seen_long_ago(user, now=now) and not _needs_refresh(
        {"status": user.status, "username": user.username, "first_name": user.first_name},
        username=username,
        first_name=first_name,
    )


async def get(conn: psycopg.AsyncConnection, user_id: int) -> User:
    """The user with id ``user_id``; raise UserNotFound."""
    row = await fetch_one(conn, "SELECT * FROM users WHERE id = %s", (user_id,))
    if row is None:
        raise UserNotFound(f"no user with id {user_id}")
    return User(**row)


async def find_by_telegram_id(conn: psycopg.AsyncConnection, telegram_id: int) -> User | None:
    row = await fetch_one(conn, "SELECT * FROM users WHERE telegram_id = %s", (telegram_id,))
    return User(**row) if row else None


async def find_by_username(conn: psycopg.AsyncConnection, username: str) -> User | None:
    """The user whose Telegram @username is ``username`` (any case, with or without "@").

    Usernames can move between Telegram accounts and we only learn of a change when the
    user writes to the bot, so two rows may carry the same name: the one updated most
    recently wins. Index: ``users_username_lower`` (migration 0004).
    """
    name = username.strip().removeprefix("@")
    if not name:
        return None
    row = await fetch_one(
        conn,
        """
        SELECT * FROM users
         WHERE lower(username) = lower(%s) AND username IS NOT NULL
         ORDER BY updated_at DESC
         LIMIT 1
        """,
        (name,),
    )
    return User(**row) if row else None


async def _set(conn: psycopg.AsyncConnection, user_id: int, column: str, value: str) -> User:
    row = await fetch_one(
        conn,
        f"UPDATE users SET {column} = %s, updated_at = now() WHERE id = %s RETURNING *",
        (value, user_id),
    )
    if row is None:
        raise UserNotFound(f"no user with id {user_id}")
    user_changes.changed_here(row["telegram_id"])
    return User(**row)


async def set_language(conn: psycopg.AsyncConnection, *, user_id: int, language: str) -> User:
    return await _set(conn, user_id, "language", _check(language, LANGUAGES, "language"))


async def set_tier(conn: psycopg.AsyncConnection, *, user_id: int, tier: Tier | str) -> User:
    """Set the user's tier; ValueError for an unknown one."""
    return await _set(conn, user_id, "tier", Tier(tier).value)


async def ban(conn: psycopg.AsyncConnection, *, user_id: int) -> User:
    return await _set(conn, user_id, "status", UserStatus.BANNED.value)


async def unban(conn: psycopg.AsyncConnection, *, user_id: int) -> User:
    return await _set(conn, user_id, "status", UserStatus.ACTIVE.value)


async def mark_inactive(conn: psycopg.AsyncConnection, *, user_id: int) -> User | None:
    """The user blocked the bot (Telegram 403): stop messaging them. A banned user stays banned.

    Returns the user, or None if they are banned (nothing changed).
    """
    row = await fetch_one(
        conn,
        "UPDATE users SET status = 'inactive', updated_at = now() WHERE id = %s AND status <> 'banned' RETURNING *",
        (user_id,),
    )
    if row is None:
        await get(conn, user_id)  # raises UserNotFound for a wrong id
        return None
    user_changes.changed_here(row["telegram_id"])
    return User(**row)


async def list_active_ids(conn: psycopg.AsyncConnection, *, after_id: int = 0, limit: int = 1000) -> list[int]:
    """Ids of active users greater than ``after_id``, ascending; page by passing the last id."""
    rows = await fetch_all(
        conn,
        "SELECT id FROM users WHERE status = 'active' AND id > %s ORDER BY id LIMIT %s",
        (after_id, limit),
    )
    return [row["id"] for row in rows]


async def count(conn: psycopg.AsyncConnection, *, status: UserStatus | str | None = None) -> int:
    """Number of users, or of users with ``status`` (ValueError for an unknown one)."""
    if status is None:
        row = await fetch_row(conn, "SELECT count(*) AS n FROM users")
    else:
        row = await fetch_row(conn, "SELECT count(*) AS n FROM users WHERE status = %s", (UserStatus(status).value,))
    return int(row["n"])


def seen_long_ago(user: User, *, now: datetime) -> bool:
    """True when ``user.last_seen_at`` is unset or older than SEEN_EVERY (time to ``mark_seen``)."""
    return user.last_seen_at is None or now - user.last_seen_at >= SEEN_EVERY


async def mark_seen(conn: psycopg.AsyncConnection, *, user_id: int, now: datetime) -> None:
    """Record that the user wrote to the bot at ``now`` (never moves it backwards)."""
    await conn.execute(
        "UPDATE users SET last_seen_at = %s WHERE id = %s AND (last_seen_at IS NULL OR last_seen_at < %s)",
        (now, user_id, now),
    )


async def count_seen_since(conn: psycopg.AsyncConnection, *, since: datetime) -> int:
    """Active users (not banned, not blocking the bot) who wrote to the bot after ``since``."""
    row = await fetch_row(
        conn, "SELECT count(*) AS n FROM users WHERE status = 'active' AND last_seen_at > %s", (since,)
    )
    return int(row["n"])


async def get_many(conn: psycopg.AsyncConnection, user_ids: list[int]) -> dict[int, User]:
    """The users with these ids by id (missing ones left out)."""
    rows = await fetch_all(conn, "SELECT * FROM users WHERE id = ANY(%b)", (sorted(set(user_ids)),))
    return {row["id"]: User(**row) for row in rows}
