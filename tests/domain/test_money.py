"""Money: kopeck rounding, no floats, per-asset conversion that never rounds up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zenith.domain.money import (
    RUB_QUANT,
    asset_quant,
    convert_rub_to_asset,
    format_asset,
    format_rub,
    to_decimal,
    to_money,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("975"), "975.00"),
        (975, "975.00"),
        ("975", "975.00"),
        (" 12.3 ", "12.30"),
        ("1.005", "1.01"),
        ("1.004999", "1.00"),
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("2.675", "2.68"),  # the classic float trap (2.675 -> 2.67 in binary float)
        (Decimal("1E+3"), "1000.00"),
        ("123456789012.345", "123456789012.35"),
    ],
)
def test_to_money_rounds_half_up_to_kopecks(value, expected):
    result = to_money(value)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2
    assert RUB_QUANT == Decimal("0.01")


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), True, None, [1], b"1"])
def test_floats_and_other_types_never_become_money(value):
    with pytest.raises(TypeError):
        to_money(value)


@pytest.mark.parametrize("value", ["abc", "", "1,5", "NaN", "Infinity", "-inf", Decimal("NaN"), Decimal("Infinity")])
def test_non_numbers_are_value_errors(value):
    with pytest.raises(ValueError):
        to_money(value)


def test_to_decimal_keeps_precision():
    assert to_decimal("0.123456789") == Decimal("0.123456789")


@pytest.mark.parametrize(
    ("amount", "lang", "expected"),
    [
        ("1234.5", "ru", f"1{NBSP}234,50{NBSP}₽"),
        ("1234.5", "ru-RU", f"1{NBSP}234,50{NBSP}₽"),
        ("1234.5", "en", f"1,234.50{NBSP}₽"),
        ("1234.5", "en_US", f"1,234.50{NBSP}₽"),
        ("1234.5", "de", f"1,234.50{NBSP}₽"),
        ("1234.5", "", f"1,234.50{NBSP}₽"),
        ("975", "ru", f"975,00{NBSP}₽"),
        ("0", "en", f"0.00{NBSP}₽"),
        ("1234567.891", "ru", f"1{NBSP}234{NBSP}567,89{NBSP}₽"),
        ("-50", "en", f"-50.00{NBSP}₽"),
    ],
)
def test_format_rub(amount, lang, expected):
    assert format_rub(amount, lang) == expected


@pytest.mark.parametrize(
    ("asset", "quant"),
    [
        ("USDT", "0.000001"),
        ("usdt", "0.000001"),
        ("TON", "0.00000001"),
        ("BTC", "0.00000001"),
        ("NEWCOIN", "0.00000001"),
    ],
)
def test_asset_quant(asset, quant):
    assert asset_quant(asset) == Decimal(quant)


@pytest.mark.parametrize(
    ("rub", "rate", "asset", "expected"),
    [
        ("975.00", "97.50", "USDT", "10.000000"),
        ("1000.00", "92.37", "USDT", "10.826025"),  # 10.8260257659... rounded down
        ("100.00", "3", "USDT", "33.333333"),
        ("200.00", "3", "USDT", "66.666666"),  # not ...667: never send more than owed
        ("1000", "450.123", "TON", "2.22161498"),
        ("5000", "6543210.5", "BTC", "0.00076415"),
        ("0", "90", "USDT", "0.000000"),
    ],
)
def test_convert_rub_to_asset_rounds_down(rub, rate, asset, expected):
    result = convert_rub_to_asset(amount_rub=Decimal(rub), rate_rub_per_asset=Decimal(rate), asset=asset)
    assert result == Decimal(expected)
    assert str(result) == expected
    assert result * Decimal(rate) <= Decimal(rub)


def test_convert_rejects_bad_rates_amounts_and_floats():
    with pytest.raises(ValueError):
        convert_rub_to_asset(amount_rub=Decimal("10"), rate_rub_per_asset=Decimal("0"), asset="USDT")
    with pytest.raises(ValueError):
        convert_rub_to_asset(amount_rub=Decimal("10"), rate_rub_per_asset=Decimal("-1"), asset="USDT")
    with pytest.raises(ValueError):
        convert_rub_to_asset(amount_rub=Decimal("-10"), rate_rub_per_asset=Decimal("90"), asset="USDT")
    with pytest.raises(TypeError):
        convert_rub_to_asset(amount_rub=10.0, rate_rub_per_asset=Decimal("90"), asset="USDT")
    with pytest.raises(TypeError):
        convert_rub_to_asset(amount_rub=Decimal("10"), rate_rub_per_asset=90.5, asset="USDT")


@pytest.mark.parametrize(
    ("amount", "asset", "expected"),
    [
        ("12.500000", "USDT", "12.5 USDT"),
        ("10", "usdt", "10 USDT"),
        ("0.00012000", "BTC", "0.00012 BTC"),
        ("1.123456789", "USDT", "1.123456 USDT"),
        ("0", "TON", "0 TON"),
    ],
)
def test_format_asset(amount, asset, expected):
    assert format_asset(Decimal(amount), asset) == expected
