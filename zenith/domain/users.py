"""User statuses: whether a creator may use the bot and be written to.

A user is ``active`` from the first message; an admin may make them ``banned`` (and
``active`` again); Telegram's "bot was blocked by the user" makes an active user
``inactive``, and their next message makes them ``active`` again. A banned user stays
banned whatever they do: blocking the bot or writing to it changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["UserStatus", "after_contact", "may_be_messaged"]


class UserStatus(StrEnum):
    ACTIVE = "active"
    BANNED = "banned"
    INACTIVE = "inactive"


def after_contact(status: UserStatus | str) -> UserStatus:
    """The status once the user writes to the bot: an inactive user is active again."""
    status = UserStatus(status)
    return UserStatus.ACTIVE if status is UserStatus.INACTIVE else status


def may_be_messaged(status: UserStatus | str) -> bool:
    """False for a user who blocked the bot: a message to them would only fail."""
    return UserStatus(status) is not UserStatus.INACTIVE
