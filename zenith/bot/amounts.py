"""Amounts as creators type them: "1 000,50", "1,000.50", "1500", "1 500 ₽"."""

from __future__ import annotations

import re

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’_]")
_CURRENCY = re.compile(r"(?i)(₽|руб\.?|rub|р\.?)$")


class AmountNotUnderstood(ValueError):
    """The text is not a number we can read unambiguously."""


def normalize_amount_text(text: str) -> str:
    """The amount as a plain decimal string ("1000.50"), ready for `validate_withdrawal`.

    Spaces, apostrophes and underscores group thousands; a trailing ₽/руб/RUB is ignored.
    With both "," and "." the last one is the decimal mark. A lone "," or "." followed by
    exactly three digits (and more than one group) is read as thousands, otherwise as the
    decimal mark. Raises `AmountNotUnderstood` for anything else.
    """
    value = _SPACES.sub("", text.strip())
    value = _CURRENCY.sub("", value)
    if not value or len(value) > 32 or not re.fullmatch(r"[0-9.,]+", value):
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        value = value.replace(thousands, "")
        value = value.replace(",", ".")
    elif "," in value or "." in value:
        mark = "," if "," in value else "."
        head, *groups = value.split(mark)
        # money has at most two decimals, so "1,000" or "1.000.000" can only be thousands
        if len(groups) > 1 or len(groups[0]) == 3:
            if not 1 <= len(head) <= 3 or not all(len(group) == 3 for group in groups):
                raise AmountNotUnderstood(f"not an amount: {text!r}")
            value = head + "".join(groups)
        else:
            value = f"{head}.{groups[0]}"
    if value.count(".") > 1 or value.startswith(".") or value.endswith("."):
        raise AmountNotUnderstood(f"not an amount: {text!r}")
    return value
