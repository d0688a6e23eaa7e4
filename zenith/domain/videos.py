"""Video statuses: what a submitted video may be, and which of them earn.

A video starts ``approved`` when its creator's tier skips moderation (Gold), else
``pending_moderation``; an admin approves or rejects it; an approved video becomes
``failed`` when the platform reports it gone and ``finished`` when its tracking window
is over. Only an ``approved`` video is re-checked and credited.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["VideoStatus", "initial_status", "is_tracked"]


class VideoStatus(StrEnum):
    PENDING_MODERATION = "pending_moderation"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    FINISHED = "finished"


def initial_status(*, auto_approve: bool) -> VideoStatus:
    """The status of a newly stored video: approved when its creator's tier skips moderation."""
    return VideoStatus.APPROVED if auto_approve else VideoStatus.PENDING_MODERATION


def is_tracked(status: VideoStatus | str) -> bool:
    """True when the video is re-checked and earns: only ``approved``."""
    return VideoStatus(status) is VideoStatus.APPROVED
