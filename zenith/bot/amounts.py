"""Amounts as creators type them: "1 000,50", "1.000,50", "1500", "1 500 ₽", "600р".

An amount is read only when the text has one meaning. "600.123" could be 600.12 RUB or
600,123 RUB, "1,000" could be 1 RUB or 1,000 RUB, "$600" is not in roubles: the bot asks
back with the readings instead of picking one (`AmountAmbiguous`).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["AmountAmbiguous", "AmountNotUnderstood", "read_amount"]

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’_]")
_RUB = re.compile(r"(?i)^(₽|руб\.?|рублей|рубля|рубль|rub|rur|р\.?)|(₽|руб\.?|рублей|рубля|рубль|rub|rur|р\.?)$")
_FOREIGN = re.compile(r"(?i)^(\$|€|£|usd|usdt|eur|ton)|(\$|€|£|usd|usdt|eur|ton|dollars?|долл\.?|долларов)$")
_KOPECK = Decimal("0.01")
_MAX_LENGTH = 32


class AmountNotUnderstood(ValueError):
    """The text is not a number at all."""


class AmountAmbiguous(ValueError):
    """The text is a number that can be read more than one way; ask the creator.

    Attributes:
      choices: the readings in RUB (kopecks), the decimal reading first; one choice when
        the only doubt is rounding or the currency.
      foreign_currency: the text named another currency ("$600", "600 USDT"): amounts are RUB.
    """

    def __init__(self, text: str, *, choices: tuple[Decimal, ...], foreign_currency: bool = False) -> None:
        super().__init__(f"ambiguous amount: {text!r}")
        self.choices = choices
        self.foreign_currency = foreign_currency


def read_amount(text: str) -> Decimal:
    """The amount in RUB that ``text`` means, when it means exactly one.

    Spaces, apostrophes and underscores group thousands; ₽/руб/RUB/р before or after the
    number is dropped. With both "," and "." the last one is the decimal mark. A lone mark
    followed by one or two digits is the decimal mark; repeated marks ("1.000.000") group
    thousands. Raises `AmountAmbiguous` for a lone mark followed by three digits, more than
    two decimals or another currency, `AmountNotUnderstood` for anything that is not a number.
    """
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_LENGTH:
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    spaced, foreign = _strip_currency(stripped)
    pieces = _SPACES.split(spaced.strip())
    # "1 000 000,50": spaces group thousands, so every group after the first has three digits
    if len(pieces) > 1 and not (
        re.fullmatch(r"[0-9]{1,3}", pieces[0])
        and all(re.fullmatch(r"[0-9]{3}", piece) for piece in pieces[1:-1])
        and re.fullmatch(r"[0-9]{3}([.,][0-9]+)?", pieces[-1])
    ):
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    value = "".join(pieces)
    if not value or not re.fullmatch(r"[0-9.,]+", value) or not value[0].isdigit():
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    readings = _readings(value, text)
    exact = len(readings) == 1 and readings[0] == readings[0].quantize(_KOPECK)
    choices = tuple(dict.fromkeys(reading.quantize(_KOPECK, rounding=ROUND_HALF_UP) for reading in readings))
    if exact and not foreign:
        return choices[0]
    raise AmountAmbiguous(text, choices=choices, foreign_currency=foreign)


def _strip_currency(value: str) -> tuple[str, bool]:
    """(the number's text, whether a currency other than RUB was named)."""
    if _FOREIGN.search(value):
        return _FOREIGN.sub("", value, count=1).strip(), True
    return _RUB.sub("", value, count=1).strip(), False


def _readings(value: str, text: str) -> list[Decimal]:
    """Every exact value the digits and marks can stand for, the decimal reading first."""
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        whole, _, fraction = value.rpartition(decimal_mark)
        if decimal_mark in whole or not fraction:
            raise AmountNotUnderstood(f"not an amount: {text!r}")
        return [Decimal(f"{_thousands(whole, thousands, text)}.{fraction}")]
    marks = [mark for mark in ",." if mark in value]
    if not marks:
        return [Decimal(value)]
    mark = marks[0]
    if value.count(mark) > 1:
        return [Decimal(_thousands(value, mark, text))]
    head, tail = value.split(mark)
    if not tail:
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    readings = [Decimal(f"{head}.{tail}")]
    if len(tail) == 3 and 1 <= len(head) <= 3 and head[0] != "0":
        readings.append(Decimal(head + tail))  # "600.123": also 600,123 with "." grouping thousands
    return readings


def _thousands(whole: str, mark: str, text: str) -> str:
    """``whole`` without its thousands marks; groups after the first must have three digits."""
    head, *groups = whole.split(mark)
    if groups and (not 1 <= len(head) <= 3 or not all(len(group) == 3 for group in groups)):
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    return head + "".join(groups)
