"""One-time buttons: a nonce kept in the dialogue's state, matched when a button is pressed.

A confirmation or a choice is acted on only when its button carries the nonce of the
question shown last: a stale message's button, a forged one or a second tap after the
state moved on does nothing.
"""

from __future__ import annotations

import secrets


def new_nonce() -> str:
    """A fresh nonce for a question's buttons (12 hex characters: it rides in callback data)."""
    return secrets.token_hex(6)


def matches(stored: object, pressed: str) -> bool:
    """Whether the pressed button carries the nonce the dialogue stored (none stored: no)."""
    return bool(stored) and secrets.compare_digest(str(stored), pressed)
