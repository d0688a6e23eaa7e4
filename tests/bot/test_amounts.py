"""Amounts as creators type them: one meaning is read, more than one is asked back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zenith.bot.amounts import AmountAmbiguous, AmountNotUnderstood, read_amount


@pytest.mark.parametrize(
    "text, amount",
    [
        ("600", "600"),
        ("600.5", "600.50"),
        ("600,50", "600.50"),
        ("1 000", "1000"),
        ("1\u00a0000", "1000"),
        ("1 000,50", "1000.50"),
        ("1.000,50", "1000.50"),
        ("1,000.50", "1000.50"),
        ("1.000.000", "1000000"),
        ("1,000,000.5", "1000000.50"),
        ("600р", "600"),
        ("600 ₽", "600"),
        ("600 руб.", "600"),
        ("600 рублей", "600"),
        ("₽600", "600"),
        ("600 RUB", "600"),
        ("1 000 000,50 ₽", "1000000.50"),
        ("1'000", "1000"),
    ],
)
def test_one_meaning_is_read(text, amount):
    assert read_amount(text) == Decimal(amount)


@pytest.mark.parametrize(
    "text, choices",
    [
        ("600.123", ["600.12", "600123"]),
        ("600,123", ["600.12", "600123"]),
        ("1,000", ["1.00", "1000"]),
        ("1.000", ["1.00", "1000"]),
        ("600.1234", ["600.12"]),
        ("1 000,505", ["1000.51"]),
        ("1,000.125", ["1000.13"]),
        ("0.123", ["0.12"]),
    ],
)
def test_more_than_two_decimals_or_a_possible_thousands_mark_is_asked_back(text, choices):
    with pytest.raises(AmountAmbiguous) as doubt:
        read_amount(text)
    assert list(doubt.value.choices) == [Decimal(choice) for choice in choices]
    assert doubt.value.foreign_currency is False


@pytest.mark.parametrize(
    "text, choices", [("$600", ["600"]), ("600 USDT", ["600"]), ("€1,000", ["1.00", "1000"]), ("600$", ["600"])]
)
def test_another_currency_is_asked_back_in_rub(text, choices):
    with pytest.raises(AmountAmbiguous) as doubt:
        read_amount(text)
    assert list(doubt.value.choices) == [Decimal(choice) for choice in choices]
    assert doubt.value.foreign_currency is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "600.",
        ".5",
        "1,00,000",
        "1.2.3",
        "12,34,56",
        "-600",
        "1e5",
        "6" * 40,
        "₽",
        "6 00",
        "1 0000",
        "1 000 00",
        "60 0,5",
    ],
)
def test_what_is_not_a_number_is_not_understood(text):
    with pytest.raises(AmountNotUnderstood):
        read_amount(text)
