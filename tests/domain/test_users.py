"""User statuses: the values stored in users.status, what writing to the bot does, who is written to."""

from __future__ import annotations

import pytest

from zenith.domain.users import UserStatus, after_contact, may_be_messaged


def test_values_are_the_stored_strings():
    # the CHECK constraint of users.status (migration 0001) allows exactly these
    assert {status.value for status in UserStatus} == {"active", "banned", "inactive"}
    assert UserStatus.BANNED == "banned" and UserStatus("inactive") is UserStatus.INACTIVE


def test_writing_to_the_bot_reactivates_only_an_inactive_user():
    assert after_contact(UserStatus.INACTIVE) is UserStatus.ACTIVE
    assert after_contact("active") is UserStatus.ACTIVE
    assert after_contact(UserStatus.BANNED) is UserStatus.BANNED


@pytest.mark.parametrize("status", list(UserStatus))
def test_only_a_user_who_blocked_the_bot_is_not_messaged(status):
    assert may_be_messaged(status) is (status is not UserStatus.INACTIVE)
    assert may_be_messaged(status.value) is may_be_messaged(status)


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        may_be_messaged("deleted")
