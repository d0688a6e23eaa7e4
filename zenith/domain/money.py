"""Money in one place: RUB to the kopeck, crypto amounts per asset, never a float.

Rounding rules:
- RUB amounts are rounded to kopecks with ROUND_HALF_UP (`to_money`).
- RUB -> crypto conversion rounds DOWN to the asset's decimals, so a payout never sends
  more than the RUB it was reserved for. Crypto Pay takes amounts as strings; we send
  at most 8 decimals (``MAX_ASSET_DECIMALS``), fewer where the asset itself has fewer.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "ASSET_DECIMALS",
    "MAX_ASSET_DECIMALS",
    "RUB_QUANT",
    "asset_quant",
    "convert_rub_to_asset",
    "format_asset",
    "format_rub",
    "to_decimal",
    "to_money",
]

RUB_QUANT = Decimal("0.01")
MAX_ASSET_DECIMALS = 8
# Decimals we send per asset: the stablecoins and TRX have 6 on their chains; the rest
# have 8 or more, capped at MAX_ASSET_DECIMALS. Unlisted assets get MAX_ASSET_DECIMALS.
ASSET_DECIMALS: dict[str, int] = {
    "USDT": 6,
    "USDC": 6,
    "TRX": 6,
    "TON": 8,
    "BTC": 8,
    "ETH": 8,
    "LTC": 8,
    "BNB": 8,
}


def to_decimal(value: Decimal | int | str) -> Decimal:
    """A finite `Decimal` from a Decimal, int or numeric string, without rounding.

    Raises TypeError for float and bool (floats never enter money) and ValueError for
    text that is not a finite number.
    """
    if isinstance(value, (bool, float)):
        raise TypeError(f"money must not be {type(value).__name__}; use Decimal, int or str")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    else:
        raise TypeError(f"money must be Decimal, int or str, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def to_money(value: Decimal | int | str) -> Decimal:
    """``value`` in RUB rounded to kopecks (ROUND_HALF_UP): ``to_money("1.005") == Decimal("1.01")``.

    Raises TypeError for float/bool and ValueError for non-numbers (see `to_decimal`).
    """
    return to_decimal(value).quantize(RUB_QUANT, rounding=ROUND_HALF_UP)


def asset_quant(asset: str) -> Decimal:
    """The smallest amount of ``asset`` we send, e.g. ``Decimal("0.000001")`` for USDT."""
    decimals = ASSET_DECIMALS.get(asset.strip().upper(), MAX_ASSET_DECIMALS)
    return Decimal(1).scaleb(-decimals)


def convert_rub_to_asset(
    *, amount_rub: Decimal | int | str, rate_rub_per_asset: Decimal | int | str, asset: str
) -> Decimal:
    """How much ``asset`` ``amount_rub`` buys at ``rate_rub_per_asset``, rounded DOWN.

    Parameters:
      amount_rub: RUB to convert, >= 0.
      rate_rub_per_asset: RUB for one unit of the asset, > 0.
      asset: asset code, e.g. "USDT" (decides the decimals, see ``ASSET_DECIMALS``).

    Raises ValueError for a negative amount or a rate that is not positive.
    """
    amount = to_decimal(amount_rub)
    rate = to_decimal(rate_rub_per_asset)
    if amount < 0:
        raise ValueError(f"amount_rub must be >= 0, got {amount}")
    if rate <= 0:
        raise ValueError(f"rate_rub_per_asset must be > 0, got {rate}")
    return (amount / rate).quantize(asset_quant(asset), rounding=ROUND_DOWN)


def format_rub(amount: Decimal | int | str, lang: str) -> str:
    """``amount`` for people: ``"1 234,50 ₽"`` for ru, ``"1,234.50 ₽"`` otherwise.

    ``lang`` is a language code ("ru", "en", "ru-RU", ...); anything not Russian gets the
    English format. The ru format uses no-break spaces so the amount never wraps.
    """
    value = to_money(amount)
    text = f"{abs(value):,.2f}"  # "1,234.50"
    if _is_russian(lang):
        text = text.replace(",", "\u00a0").replace(".", ",")
    sign = "-" if value < 0 else ""
    return f"{sign}{text}\u00a0₽"


def format_asset(amount: Decimal | int | str, asset: str) -> str:
    """A crypto amount, trailing zeros dropped: ``"12.5 USDT"``, ``"0.00012 BTC"``.

    Language-neutral; a text for a user passes the amount itself and lets `zenith.i18n`
    format it in the user's language (``{asset_amount:asset} {asset}``).
    """
    value = to_decimal(amount).quantize(asset_quant(asset), rounding=ROUND_DOWN)
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {asset.strip().upper()}"


def _is_russian(lang: str) -> bool:
    return (lang or "").strip().lower().replace("_", "-").split("-")[0] == "ru"
