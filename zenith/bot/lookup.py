"""Finding a user from what an admin types: a Telegram id or an @username."""

from __future__ import annotations

import re

import psycopg

from zenith.storage import users

_USERNAME = re.compile(r"@?([A-Za-z0-9_]{4,32})")


class LookupNotUnderstood(ValueError):
    """The text is neither a Telegram id nor a username."""


async def find_user(conn: psycopg.AsyncConnection, text: str) -> users.User | None:
    """The user named by `text` (digits: Telegram id; otherwise @username, any case).

    Raises `LookupNotUnderstood` for text that can be neither.
    """
    value = text.strip()
    if value.isdigit() and len(value) <= 19:
        return await users.find_by_telegram_id(conn, int(value))
    match = _USERNAME.fullmatch(value)
    if match is None:
        raise LookupNotUnderstood(text)
    return await users.find_by_username(conn, match.group(1))
