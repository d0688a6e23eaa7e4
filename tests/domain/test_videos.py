"""Video statuses: the values stored in videos.status, the initial status, which are tracked."""

from __future__ import annotations

import pytest

from zenith.domain.videos import VideoStatus, initial_status, is_tracked


def test_values_are_the_stored_strings():
    # the CHECK constraint of videos.status (migration 0001) allows exactly these
    assert {status.value for status in VideoStatus} == {
        "pending_moderation",
        "approved",
        "rejected",
        "failed",
        "finished",
    }
    assert VideoStatus.APPROVED == "approved" and VideoStatus("finished") is VideoStatus.FINISHED


def test_initial_status_follows_the_tier_policy():
    assert initial_status(auto_approve=True) is VideoStatus.APPROVED
    assert initial_status(auto_approve=False) is VideoStatus.PENDING_MODERATION


@pytest.mark.parametrize("status", list(VideoStatus))
def test_only_approved_videos_are_tracked(status):
    assert is_tracked(status) is (status is VideoStatus.APPROVED)
    assert is_tracked(status.value) is is_tracked(status)


def test_unknown_status_is_a_value_error():
    with pytest.raises(ValueError):
        is_tracked("deleted")
