"""Submission statuses: a link the product acknowledged, from received to its outcome.

A link is ``received`` (stored before the creator is told "accepted") until the
submission actor ends it: ``stored`` (the video exists), ``refused`` (a duplicate, not
the creator's, unavailable, ...) or ``failed`` (the platform kept failing, or its
wake-up was lost too many times: the creator is asked to send it again).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SubmissionStatus", "FINISHED", "is_answered"]


class SubmissionStatus(StrEnum):
    RECEIVED = "received"
    STORED = "stored"
    REFUSED = "refused"
    FAILED = "failed"


# the outcomes that end a submission
FINISHED = (SubmissionStatus.STORED, SubmissionStatus.REFUSED, SubmissionStatus.FAILED)


def is_answered(status: SubmissionStatus | str) -> bool:
    """True when the creator was given a final answer other than a stored video (refused or failed)."""
    return SubmissionStatus(status) in (SubmissionStatus.REFUSED, SubmissionStatus.FAILED)
