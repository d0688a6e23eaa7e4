"""Splitting a notification that is too long for one Telegram message.

Telegram refuses a text over 4,096 characters (a photo caption over 1,024). Cutting
would lose the end of the message, so it is split into several, at line boundaries
where possible: a part holds as many whole lines as fit; a single line longer than the
limit is split at its last space before the limit, or hard at the limit when it has
none. Joining the parts with newlines (or the spaces taken out) gives back the text.
"""

from __future__ import annotations


class PartLimitError(ValueError):
    """The limit is too small to hold any text."""


def _split_line(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 1, limit + 1)
        if cut <= 0:
            pieces.append(line[:limit])
            line = line[limit:]
        else:
            pieces.append(line[:cut])
            line = line[cut + 1 :]
    pieces.append(line)
    return pieces


def split_text(text: str, *, limit: int) -> list[str]:
    """``text`` as parts of at most ``limit`` characters each, cut at line boundaries.

    Parameters:
      text: the rendered message.
      limit: characters allowed in one part (Telegram: 4,096 text, 1,024 caption).

    Returns one part (the text itself) when it fits; never an empty part unless the
    text is empty.
    """
    if limit < 1:
        raise PartLimitError(f"limit must be >= 1, got {limit}")
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _split_line(line, limit):
            candidate = piece if not current else f"{current}\n{piece}"
            if len(candidate) <= limit:
                current = candidate
                continue
            if current.strip():
                parts.append(current)
            current = piece
    if current.strip() or not parts:
        parts.append(current)
    return parts
