"""What the trust layer can notice about a view count, and the numbers behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Signal", "SignalKind"]


class SignalKind(StrEnum):
    IMPLAUSIBLE = "implausible"  # the answer itself cannot be real (refused, never credited)
    SPIKE = "spike"  # views per hour far above the video's and the creator's own past
    LOW_ENGAGEMENT = "low_engagement"  # many new views, almost no new likes
    LATE_GROWTH = "late_growth"  # views that grew after the tracking window closed
    DUPLICATE_VIDEO = "duplicate_video"  # the same video submitted from another creator's account
    SHARED_CHANNEL = "shared_channel"  # a channel another creator already linked
    SHARED_WALLET = "shared_wallet"  # a payout destination another creator uses


# Kinds that put new growth on hold when they fire on a check.
HOLDING_KINDS = frozenset({SignalKind.SPIKE, SignalKind.LOW_ENGAGEMENT, SignalKind.LATE_GROWTH})


@dataclass(frozen=True)
class Signal:
    """One observation with its evidence: the numbers that triggered it (JSON-friendly)."""

    kind: SignalKind
    evidence: dict[str, object] = field(default_factory=dict)

    @property
    def holds_growth(self) -> bool:
        return self.kind in HOLDING_KINDS
