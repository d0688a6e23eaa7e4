"""API keys of the HTTP API: their shape, how they are hashed, what each scope allows.

A key reads ``zk_<8-character id>_<43 random characters>``. The id is public (it
names the key in ``zenith apikey list`` and in logs); the whole key is the secret.
Only its SHA-256 is stored: a key carries 256 random bits, so a fast hash is enough
(there is nothing to brute-force), and it lets one index lookup find the key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import StrEnum

__all__ = ["KEY_PREFIX", "InvalidKey", "Scope", "hash_key", "key_id_of", "new_key"]

KEY_PREFIX = "zk"
_KEY = re.compile(rf"{KEY_PREFIX}_([A-Za-z0-9]{{8}})_([A-Za-z0-9_-]{{43}})")
_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidKey(ValueError):
    """The text does not have the shape of an API key (never looked up)."""


class Scope(StrEnum):
    """What a key may do; each scope includes the ones before it."""

    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"

    def allows(self, needed: "Scope") -> bool:
        """True when a key of this scope may call an endpoint that needs ``needed``."""
        order = list(Scope)
        return order.index(self) >= order.index(needed)


def new_key() -> str:
    """A fresh key: ``zk_`` + 8-character public id + ``_`` + 256 random bits (url-safe)."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    return f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str:
    """The public id of ``key``; raises InvalidKey when it is not shaped like a key."""
    match = _KEY.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise InvalidKey("not an API key")
    return match.group(1)


def hash_key(key: str) -> str:
    """The stored form of ``key``: its SHA-256, hex."""
    key_id_of(key)
    return hashlib.sha256(key.encode("ascii")).hexdigest()
