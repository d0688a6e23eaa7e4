"""JSON through orjson (C), with the standard library's answer wherever the two differ.

orjson parses and writes JSON several times faster than the ``json`` module, and the hot
paths parse and write a lot of it (platform answers, jsonb columns, Dramatiq messages).
Where the two differ, the ``json`` module's answer is the one given: orjson reads an integer
beyond 64 bits as a float (a platform's absurd view count must reach the trust checks as
the integer it is), so a text with a run of 20 digits or more is parsed by ``json``; and
anything orjson refuses to parse or write is handed to ``json``, which gives its own
answer or error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# 2**64 has 20 digits: a shorter run is an integer orjson keeps exact
_LONG_DIGITS = re.compile(r"\d{20}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{20}")


def loads(data: bytes | bytearray | str) -> Any:
    """``json.loads(data)``, parsed by orjson when that gives the same; ``ValueError`` (as ``json``) on garbage."""
    long_digits = _LONG_DIGITS if isinstance(data, str) else _LONG_DIGITS_BYTES
    if long_digits.search(data) is None:  # type: ignore[arg-type]  # the pattern matches data's type
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # garbage, or what only json reads: json's answer or error
    return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value`` (``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``),
    by orjson when it can. One difference: a NaN or infinite float is written as ``null`` (JSON
    has no number for it; ``json`` writes ``NaN``, which JSON parsers other than Python's refuse)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # a big integer or a type orjson does not write: as the json module does (or fails)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
