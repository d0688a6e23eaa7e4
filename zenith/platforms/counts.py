"""Reading a count (views, likes, comments) from a platform's answer, strictly.

A count is a whole number: an integer, an integral JSON number (TikTok's 1e+20), or a
string of digits with an optional minus sign (YouTube sends counts as strings). Anything
else — 12.5, "1e30" as text, "lots", NaN, infinity, true — is an unreadable answer about
that video, never a number to guess from. Whether a whole number is plausible (negative,
above TRUST_MAX_VIEWS) is the trust gate's question (docs/trust.md), asked next.
"""

from __future__ import annotations

import math
from typing import Any

from zenith.platforms.errors import BadResponseError


def parse_count(value: Any, *, what: str, platform: str) -> int | None:
    """``value`` as a whole number; None when absent (None or ""); ``BadResponseError`` if not one.

    Parameters:
      value: the JSON value (the YouTube API sends counts as strings, TikTok as numbers).
      what: the field's name, for the error message.
      platform: "youtube" / "tiktok".
    """
    if value is None or value == "":
        return None
    count: int | None = None
    if isinstance(value, bool):
        count = None
    elif isinstance(value, int):
        count = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        count = int(value)
    elif isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit():
            count = int(text)
    if count is None:
        raise BadResponseError(f"{platform}: {what}={value!r} is not a count", platform=platform)
    return count
