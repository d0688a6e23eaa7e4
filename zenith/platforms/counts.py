"""Reading a count (views, likes, comments) from a platform's answer, strictly.

A count is a non-negative whole number that fits PostgreSQL's bigint. Anything else —
-5000, 12.5, "1e30" as text, NaN, infinity, true, 10**20 — is not a count this product
can store or pay for, so it is an unreadable answer, never a number to guess from.
(Whether a readable count is plausible is a separate question, for the trust rules.)
"""

from __future__ import annotations

import math
from typing import Any

from zenith.platforms.errors import BadResponseError

MAX_COUNT = 2**63 - 1  # PostgreSQL bigint


def parse_count(value: Any, *, what: str, platform: str) -> int | None:
    """``value`` as a count; None when absent (None or ""); ``BadResponseError`` if not a count.

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
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        count = int(value.strip())
    if count is None or not 0 <= count <= MAX_COUNT:
        raise BadResponseError(f"{platform}: {what}={value!r} is not a count", platform=platform)
    return count
