"""One-time codes that prove a creator owns a TikTok or YouTube account.

The bot gives the creator a code like ``ZM-7K3PQ9XA``; the creator puts it in the
profile bio or channel description; the submission actor fetches that text and looks
for the code with `code_present`. Codes use an alphabet without look-alike characters
(no 0/O, 1/I/L) and come from `secrets`.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

__all__ = ["CODE_ALPHABET", "CODE_PREFIX", "InvalidCode", "code_present", "generate_code", "is_valid_code"]

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "ZM"
CODE_LENGTH = 8
_CODE = re.compile(rf"{CODE_PREFIX}-[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
# What may stand between the prefix and the body when a person types the code.
_JOINERS = r"[-\s_.:\u2010-\u2015\u2212]?"


class InvalidCode(ValueError):
    """The text given as a code does not have the shape of a code."""


def generate_code() -> str:
    """A new code: ``"ZM-"`` and 8 random characters of ``CODE_ALPHABET`` (~40 bits)."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{CODE_PREFIX}-{body}"


def is_valid_code(code: str) -> bool:
    """True when ``code`` has exactly the shape `generate_code` makes."""
    return isinstance(code, str) and _CODE.fullmatch(code) is not None


def code_present(text: str | None, code: str) -> bool:
    """True when ``code`` appears in ``text`` (a bio or channel description).

    Forgiving about how people paste: any case, full-width or styled characters (NFKC),
    any punctuation or emoji around the code, and a space, dot, underscore or other dash
    (or nothing) instead of the hyphen. Not forgiving about the code itself: it must
    stand alone, not inside a longer run of letters and digits.
    Raises `InvalidCode` when ``code`` is not a code.
    """
    if not is_valid_code(code):
        raise InvalidCode(f"not a verification code: {code!r}")
    if not text:
        return False
    normalized = unicodedata.normalize("NFKC", text).upper()
    body = code[len(CODE_PREFIX) + 1 :]
    pattern = rf"(?<![A-Z0-9]){CODE_PREFIX}{_JOINERS}{body}(?![A-Z0-9])"
    return re.search(pattern, normalized) is not None
