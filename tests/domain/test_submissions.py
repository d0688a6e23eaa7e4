"""Submission statuses: which end a submission, which were answered without a video."""

from __future__ import annotations

import pytest

from zenith.domain.submissions import FINISHED, SubmissionStatus, is_answered


def test_received_is_the_only_status_still_waiting():
    assert set(SubmissionStatus) - set(FINISHED) == {SubmissionStatus.RECEIVED}


@pytest.mark.parametrize(
    ("status", "answered"), [("received", False), ("stored", False), ("refused", True), ("failed", True)]
)
def test_refused_and_failed_were_answered_without_a_video(status, answered):
    assert is_answered(status) is answered


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        is_answered("lost")
