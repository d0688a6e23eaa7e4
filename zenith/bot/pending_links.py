"""Links waiting for the creator to say which campaign they are for.

A creator who joined several open campaigns is asked before anything is submitted; the
message's valid links wait in Redis under a random nonce (the button carries it) for
`PENDING_TTL_SECONDS`, so answering an hour later, after other messages or menus, still
submits them. The request ids are built from the original message, so pressing twice
(or two campaigns one after the other) stores each link once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

# long enough for a creator who comes back the next day; then the question says "send again"
PENDING_TTL_SECONDS = 3 * 24 * 3600


@dataclass(frozen=True)
class PendingLinks:
    message_id: int  # the creator's message the links came in (request ids are built from it)
    links: list[tuple[int, str]]  # (index of the link in that message, the link)


def _key(prefix: str, user_id: int, nonce: str) -> str:
    return f"{prefix}:campaign_pick:{int(user_id)}:{nonce}"


async def keep(redis: Redis, *, prefix: str, user_id: int, pending: PendingLinks) -> str:
    """Store the links for the question; its nonce."""
    nonce = secrets.token_urlsafe(9)
    value = json.dumps({"message_id": pending.message_id, "links": pending.links})
    await redis.set(_key(prefix, user_id, nonce), value, ex=PENDING_TTL_SECONDS)
    return nonce


async def load(redis: Redis, *, prefix: str, user_id: int, nonce: str) -> PendingLinks | None:
    """The links of the question ``nonce`` of this creator; None once answered or expired."""
    raw = await redis.get(_key(prefix, user_id, nonce))
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingLinks(message_id=int(data["message_id"]), links=[(int(i), str(link)) for i, link in data["links"]])


async def forget(redis: Redis, *, prefix: str, user_id: int, nonce: str) -> None:
    """The question was answered: its links are submitted (a later press finds nothing)."""
    await redis.delete(_key(prefix, user_id, nonce))
