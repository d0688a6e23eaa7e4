"""Payout state machine, withdrawal validation, admin approval, spend ids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zenith.domain.payouts import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    OPEN_STATUSES,
    InvalidTransition,
    Withdrawal,
    WithdrawalRejected,
    check_transition,
    entered_from,
    is_final,
    needs_admin_approval,
    spend_id_for,
    validate_withdrawal,
)
from zenith.domain.payouts import (
    PayoutStatus as S,
)
from zenith.domain.payouts import (
    WithdrawalRejectReason as W,
)
from zenith.domain.tiers import Tier

ALLOWED = {
    (S.REQUESTED, S.APPROVED),
    (S.REQUESTED, S.REJECTED),
    (S.APPROVED, S.SENDING),
    (S.APPROVED, S.FAILED),
    (S.APPROVED, S.REJECTED),  # an admin may still stop a payout that was not sent
    (S.SENDING, S.PAID),
    (S.SENDING, S.FAILED),
    (S.SENDING, S.APPROVED),  # refused for lack of funds: waits to be sent again
}
EVERY_PAIR = [(old, new) for old in S for new in S]


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED))
def test_allowed_transitions(old, new):
    check_transition(old, new)
    check_transition(old.value, new.value)


@pytest.mark.parametrize(("old", "new"), [pair for pair in EVERY_PAIR if pair not in ALLOWED])
def test_every_other_transition_is_refused(old, new):
    with pytest.raises(InvalidTransition) as caught:
        check_transition(old, new)
    assert (caught.value.old, caught.value.new) == (old, new)


def test_table_matches_and_finals():
    assert {(old, new) for old, targets in ALLOWED_TRANSITIONS.items() for new in targets} == ALLOWED
    assert FINAL_STATUSES == {S.PAID, S.FAILED, S.REJECTED}
    assert is_final("paid") and not is_final(S.SENDING)


def test_open_statuses_are_the_non_final_ones():
    assert OPEN_STATUSES == {S.REQUESTED, S.APPROVED, S.SENDING}


@pytest.mark.parametrize("new", list(S))
def test_entered_from_is_the_table_read_backwards(new):
    assert entered_from(new) == {old for old, targets in ALLOWED_TRANSITIONS.items() if new in targets}
    assert entered_from(new.value) == entered_from(new)


def test_nothing_enters_requested():
    assert entered_from(S.REQUESTED) == frozenset()
    assert str(InvalidTransition(None, S.REQUESTED)) == "no payout status may go to requested"


def test_paid_can_never_be_paid_again_or_failed():
    with pytest.raises(InvalidTransition, match="from paid to failed; allowed: nothing"):
        check_transition(S.PAID, S.FAILED)
    with pytest.raises(InvalidTransition, match="from sending to requested"):
        check_transition(S.SENDING, S.REQUESTED)


def test_unknown_status_is_a_value_error():
    with pytest.raises(ValueError):
        check_transition("requested", "done")


def withdraw(amount, *, available="10000", minimum="500", asset="USDT", allowed=("USDT", "TON")):
    return validate_withdrawal(
        amount_rub=amount, available=Decimal(available), minimum=Decimal(minimum), asset=asset, allowed_assets=allowed
    )


def test_valid_withdrawal_is_normalised():
    assert withdraw(Decimal("1500")) == Withdrawal(amount_rub=Decimal("1500.00"), asset="USDT")
    assert withdraw(" 1500.5 ", asset=" ton ") == Withdrawal(amount_rub=Decimal("1500.50"), asset="TON")
    assert withdraw(500).amount_rub == Decimal("500.00")  # exactly the minimum
    assert withdraw("10000").amount_rub == Decimal("10000.00")  # exactly everything


@pytest.mark.parametrize(
    ("amount", "kwargs", "reason"),
    [
        ("abc", {}, W.BAD_AMOUNT),
        ("", {}, W.BAD_AMOUNT),
        ("NaN", {}, W.BAD_AMOUNT),
        (1500.0, {}, W.BAD_AMOUNT),
        ("1500.001", {}, W.BAD_AMOUNT),
        ("0", {}, W.NOT_POSITIVE),
        ("-600", {}, W.NOT_POSITIVE),
        ("1500", {"asset": "BTC"}, W.UNKNOWN_ASSET),
        ("1500", {"asset": ""}, W.UNKNOWN_ASSET),
        ("1500", {"allowed": ()}, W.UNKNOWN_ASSET),
        ("499.99", {}, W.BELOW_MINIMUM),
        ("10000.01", {}, W.ABOVE_AVAILABLE),
        ("600", {"available": "0"}, W.ABOVE_AVAILABLE),
        ("400", {"available": "100"}, W.BELOW_MINIMUM),
    ],
)
def test_withdrawal_rejections(amount, kwargs, reason):
    with pytest.raises(WithdrawalRejected) as caught:
        withdraw(amount, **kwargs)
    assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("tier", "amount", "needs_admin"),
    [
        (Tier.BRONZE, "500", True),
        (Tier.BRONZE, "1", True),
        (Tier.GOLD, "4999.99", False),
        (Tier.GOLD, "5000", False),
        (Tier.GOLD, "5000.01", True),
        ("gold", "100", False),
    ],
)
def test_needs_admin_approval(tier, amount, needs_admin):
    assert needs_admin_approval(tier=tier, amount_rub=Decimal(amount), gold_limit=Decimal("5000")) is needs_admin


def test_spend_id_is_stable_and_short():
    assert spend_id_for(42) == "zenith-payout-42"
    assert spend_id_for(42) == spend_id_for(42)
    assert spend_id_for(1) != spend_id_for(11)
    assert len(spend_id_for(2**63 - 1)) <= 64
    assert spend_id_for(7, prefix="zm_test") == "zm_test-7"


@pytest.mark.parametrize("payout_id", [0, -1, True, "42", 4.0, None])
def test_spend_id_needs_a_positive_int(payout_id):
    with pytest.raises(ValueError):
        spend_id_for(payout_id)


@pytest.mark.parametrize("prefix", ["", "has space", "x" * 41, "ünï"])
def test_spend_id_prefix_is_checked(prefix):
    with pytest.raises(ValueError):
        spend_id_for(1, prefix=prefix)


def test_spend_id_length_limit():
    with pytest.raises(ValueError, match="longer than 64"):
        spend_id_for(10**30, prefix="x" * 40)
