"""Payout rules: the state machine, withdrawal checks, admin approval, Crypto Pay spend ids.

States::

    requested --> approved --> sending --> paid
        |           |   |  ^      |
        v           v   v  +------+ (the wallet is short of funds: wait, send again later)
     rejected  rejected failed    failed

``rejected`` and ``failed`` refund the reserved balance; ``paid``, ``failed`` and
``rejected`` are final. A payout stays in ``sending`` until the provider answers
definitely: a retry re-sends with the same ``spend_id`` and can never pay twice.
``approved -> failed`` covers a payout that could not be started (e.g. its asset was
withdrawn from the allowed list) and so never reached the provider; ``approved ->
rejected`` lets an admin still stop a payout that has not been sent.
``sending -> approved`` is the one step back: the provider refused the transfer because
the app's wallet is short of funds (nothing was sent), so the payout keeps its
reservation and waits to be sent again with the same ``spend_id``.
This table is the one the storage layer enforces (``zenith.storage.payouts.transition``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Iterable

from zenith.domain.money import to_decimal, to_money
from zenith.domain.tiers import Tier, TierPolicy

__all__ = [
    "ALLOWED_TRANSITIONS",
    "FINAL_STATUSES",
    "MAX_SPEND_ID_LENGTH",
    "InvalidTransition",
    "PayoutStatus",
    "Withdrawal",
    "WithdrawalRejectReason",
    "WithdrawalRejected",
    "OPEN_STATUSES",
    "check_transition",
    "entered_from",
    "is_final",
    "needs_admin_approval",
    "spend_id_for",
    "validate_withdrawal",
]

MAX_SPEND_ID_LENGTH = 64  # Crypto Pay: "up to 64 symbols"
_SPEND_ID_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,40}")


class PayoutStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    SENDING = "sending"
    PAID = "paid"
    FAILED = "failed"
    REJECTED = "rejected"


ALLOWED_TRANSITIONS: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    PayoutStatus.REQUESTED: frozenset({PayoutStatus.APPROVED, PayoutStatus.REJECTED}),
    PayoutStatus.APPROVED: frozenset({PayoutStatus.SENDING, PayoutStatus.FAILED, PayoutStatus.REJECTED}),
    PayoutStatus.SENDING: frozenset({PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.APPROVED}),
    PayoutStatus.PAID: frozenset(),
    PayoutStatus.FAILED: frozenset(),
    PayoutStatus.REJECTED: frozenset(),
}
FINAL_STATUSES = frozenset(status for status, targets in ALLOWED_TRANSITIONS.items() if not targets)
# the reserved amount of these is still held: the user's open payouts
OPEN_STATUSES = frozenset(PayoutStatus) - FINAL_STATUSES


class InvalidTransition(ValueError):
    """A payout may not move from ``old`` to ``new`` (``old`` None: from no status at all)."""

    def __init__(self, old: PayoutStatus | None, new: PayoutStatus) -> None:
        self.old = old
        self.new = new
        if old is None:
            super().__init__(f"no payout status may go to {new.value}")
            return
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[old])) or "nothing (final)"
        super().__init__(f"payout cannot go from {old.value} to {new.value}; allowed: {allowed}")


def check_transition(old: PayoutStatus | str, new: PayoutStatus | str) -> None:
    """Raise `InvalidTransition` unless ``old -> new`` is in ``ALLOWED_TRANSITIONS``.

    Staying in the same status is not a transition and raises too: a caller replaying a
    step should see that the step was already done and stop.
    """
    old, new = PayoutStatus(old), PayoutStatus(new)
    if new not in ALLOWED_TRANSITIONS[old]:
        raise InvalidTransition(old, new)


def entered_from(new: PayoutStatus | str) -> frozenset[PayoutStatus]:
    """The statuses a payout may move to ``new`` from (empty for ``requested``)."""
    new = PayoutStatus(new)
    return frozenset(old for old, targets in ALLOWED_TRANSITIONS.items() if new in targets)


def is_final(status: PayoutStatus | str) -> bool:
    """True for paid, failed and rejected."""
    return PayoutStatus(status) in FINAL_STATUSES


class WithdrawalRejectReason(StrEnum):
    BAD_AMOUNT = "bad_amount"  # not a number, or finer than a kopeck
    NOT_POSITIVE = "not_positive"
    UNKNOWN_ASSET = "unknown_asset"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_AVAILABLE = "above_available"


class WithdrawalRejected(ValueError):
    """A withdrawal request breaks a rule; ``reason`` is a `WithdrawalRejectReason`."""

    def __init__(self, reason: WithdrawalRejectReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal that passed `validate_withdrawal`: amount in kopecks, asset upper case."""

    amount_rub: Decimal
    asset: str


def validate_withdrawal(
    *,
    amount_rub: Decimal | int | str,
    available: Decimal,
    minimum: Decimal,
    asset: str,
    allowed_assets: Iterable[str],
) -> Withdrawal:
    """Check a creator's withdrawal request; return it normalised or raise `WithdrawalRejected`.

    Parameters:
      amount_rub: requested RUB (Decimal, int or the creator's text like "1500.50").
      available: the creator's balance that may be withdrawn now.
      minimum: the smallest withdrawal (PAYOUT_MIN_RUB).
      asset: the asset to be paid in, any case.
      allowed_assets: assets payouts may use (PAYOUT_ASSETS).

    Checks in order: BAD_AMOUNT, NOT_POSITIVE, UNKNOWN_ASSET, BELOW_MINIMUM, ABOVE_AVAILABLE.
    """
    try:
        amount = to_decimal(amount_rub)
    except (ValueError, TypeError):
        raise WithdrawalRejected(WithdrawalRejectReason.BAD_AMOUNT, f"{amount_rub!r} is not an amount") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise WithdrawalRejected(WithdrawalRejectReason.BAD_AMOUNT, f"{amount} has more than 2 decimals")
    if amount <= 0:
        raise WithdrawalRejected(WithdrawalRejectReason.NOT_POSITIVE, str(amount))
    code = asset.strip().upper() if isinstance(asset, str) else ""
    if code not in {allowed.strip().upper() for allowed in allowed_assets}:
        raise WithdrawalRejected(WithdrawalRejectReason.UNKNOWN_ASSET, repr(asset))
    amount = to_money(amount)
    if amount < to_money(minimum):
        raise WithdrawalRejected(WithdrawalRejectReason.BELOW_MINIMUM, f"{amount} < {to_money(minimum)}")
    if amount > to_money(available):
        raise WithdrawalRejected(WithdrawalRejectReason.ABOVE_AVAILABLE, f"{amount} > {to_money(available)}")
    return Withdrawal(amount_rub=amount, asset=code)


def needs_admin_approval(*, tier: Tier | str, amount_rub: Decimal, gold_limit: Decimal) -> bool:
    """True unless the tier pays ``amount_rub`` automatically (Gold, up to ``gold_limit`` inclusive)."""
    policy = TierPolicy.for_tier(tier, gold_auto_payout_limit_rub=gold_limit)
    return not policy.pays_automatically(amount_rub)


def spend_id_for(payout_id: int, *, prefix: str = "zenith-payout") -> str:
    """The Crypto Pay ``spend_id`` of a payout: ``"zenith-payout-42"``; stable, at most 64 chars.

    The provider accepts a spend_id once per app, so every retry of the same payout
    sends the same id and can never pay twice. ``prefix`` is 1-40 of [A-Za-z0-9_-]
    (change it only when a new Crypto Pay app starts with payout ids from 1 again).
    """
    if isinstance(payout_id, bool) or not isinstance(payout_id, int) or payout_id <= 0:
        raise ValueError(f"payout_id must be a positive int, got {payout_id!r}")
    if _SPEND_ID_PREFIX.fullmatch(prefix) is None:
        raise ValueError(f"spend id prefix must be 1-40 of [A-Za-z0-9_-], got {prefix!r}")
    spend_id = f"{prefix}-{payout_id}"
    if len(spend_id) > MAX_SPEND_ID_LENGTH:
        raise ValueError(f"spend id {spend_id!r} is longer than {MAX_SPEND_ID_LENGTH} characters")
    return spend_id
