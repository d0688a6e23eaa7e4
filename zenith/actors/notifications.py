"""Notifications: every message to a user goes through `notify`, within Telegram's limits.

``notify(user_id, key, params, dedup_key, photo_path)`` renders catalogue ``key`` in the
user's language and sends it (a photo with caption when ``photo_path`` is given).
Idempotency: with a ``dedup_key`` a resend is a no-op (a Redis do-once guard, claimed
before the send and marked done after it); without one a redelivery may send twice, so
every sender that can resend passes one. A notice from the outbox is confirmed there
(``outbox.confirm_sent``) once Telegram answered or it can never be delivered: until
then the clock keeps relaying it, so a notify message the broker lost is sent again.

Localised parameters: a parameter named ``<name>_key`` holding a catalogue key (the
payout's ``reason_key``) is rendered in the user's language and passed as ``<name>``.

Long texts: a text over 4,096 characters (a caption over 1,024) is split into several
messages at line boundaries (`text_parts.split_text`), never cut. With a dedup key the
parts already sent are remembered, so a retry or a 429 carries on with the next part.

Limits: a permit from the shared `TelegramRateLimiter` (≈30 msg/s total, 1 msg/s per
chat) is taken before each send; a short wait for the shared budget is waited out, a
chat still closed sends the notice back to the queue with that delay. A 429 re-enqueues the same notification after
``retry_after`` (not a failure, retries are not counted); a user who blocked the bot
(403) is marked inactive and not retried; network or server errors raise so Dramatiq
retries with back-off.

``broadcast(broadcast_id, text)`` stores the text once in Redis and fans out, page by
page of active users, into notify messages with dedup keys
``broadcast:{broadcast_id}:{user_id}``; it is safe to run twice.
"""

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from typing import Any

from redis.asyncio import Redis

from zenith.actors.dedup import ClaimResult, OnceGuard
from zenith.actors.registry import ActorSpec
from zenith.actors.runtime import Runtime, get_runtime
from zenith.actors.telegram_limits import TelegramRateLimiter
from zenith.actors.text_parts import split_text
from zenith.domain.users import may_be_messaged
from zenith.i18n import Markup, translate
from zenith.messaging.contract import BROADCAST, NOTIFY
from zenith.storage import outbox, users

logger = logging.getLogger(__name__)

# notify(key=BROADCAST_TEXT_KEY, params={"broadcast_id": ...}): the text stored by broadcast()
BROADCAST_TEXT_KEY = "broadcast.text"
BROADCAST_PAGE_SIZE = 500
BROADCAST_TEXT_TTL_SECONDS = 3 * 86_400
# wait this long in-process for a permit; beyond it the message is re-enqueued with a delay.
# Only the shared bucket's waits (1/30 s a token) are this short: a chat's 1 s interval
# sends the message back to the queue, so the thread serves another chat meanwhile
# (waiting it out inline held every thread on busy chats: ~3 notices/s instead of 30).
MAX_INLINE_WAIT_MS = 100
# another delivery holds the dedup claim: look again after this long
BUSY_RETRY_MS = 5_000
TEXT_LIMIT = 4096  # Telegram: characters in one text message
CAPTION_LIMIT = 1024  # Telegram: characters in a photo caption
PARTS_SENT_TTL_SECONDS = 7 * 86_400  # how long the parts already sent are remembered
LOCALISED_SUFFIX = "_key"  # params["reason_key"] = "payout.reason..." -> params["reason"]
ITEMS_SUFFIX = "_items"  # params["lines_items"] = [{"key": ..., "params": ...}] -> params["lines"]


class BroadcastTextMissing(LookupError):
    """A broadcast notification arrived after its stored text expired."""


def _limiter(runtime: Runtime, redis: Redis) -> TelegramRateLimiter:
    return TelegramRateLimiter(redis, prefix=runtime.namespace)


def _localised(language: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` plus ``<name>`` rendered from each ``<name>_key`` catalogue key, and from
    each ``<name>_items`` list of ``{"key": ..., "params": {...}}`` one rendered line per item."""
    rendered = dict(params)
    for name, value in params.items():
        if name.endswith(LOCALISED_SUFFIX) and isinstance(value, str) and len(name) > len(LOCALISED_SUFFIX):
            rendered[name[: -len(LOCALISED_SUFFIX)]] = Markup(translate(language, value))
        elif name.endswith(ITEMS_SUFFIX) and isinstance(value, list) and len(name) > len(ITEMS_SUFFIX):
            lines = [
                translate(language, item["key"], **item.get("params", {}))
                for item in value
                if isinstance(item, dict) and isinstance(item.get("key"), str)
            ]
            rendered[name[: -len(ITEMS_SUFFIX)]] = Markup("\n".join(lines))
    return rendered


async def _render(runtime: Runtime, redis: Redis, *, language: str, key: str, params: dict[str, Any]) -> str:
    if key == BROADCAST_TEXT_KEY:
        text = await redis.get(runtime.key("broadcast", params["broadcast_id"]))
        if text is None:
            raise BroadcastTextMissing(f"broadcast {params['broadcast_id']} text expired")
        if isinstance(text, bytes):  # the runtime's client decodes; another client may not
            text = text.decode()
        return html.escape(text, quote=False)
    return translate(language, key, **_localised(language, params))


def message_parts(text: str, *, with_photo: bool) -> list[str]:
    """The texts to send: with a photo the first part is its caption (1,024), the rest
    follow as messages (4,096 each)."""
    if not with_photo:
        return split_text(text, limit=TEXT_LIMIT)
    caption, *rest = split_text(text, limit=CAPTION_LIMIT)
    remainder = "\n".join(rest)
    return [caption, *(split_text(remainder, limit=TEXT_LIMIT) if remainder.strip() else [])]


async def _wait_for_permit(limiter: TelegramRateLimiter, chat_id: int) -> int:
    """Take a permit, waiting up to MAX_INLINE_WAIT_MS; else return the ms still to wait."""
    waited = 0
    while True:
        wait_ms = await limiter.try_acquire(chat_id)
        if wait_ms == 0:
            return 0
        if waited + wait_ms > MAX_INLINE_WAIT_MS:
            return wait_ms
        await asyncio.sleep(wait_ms / 1000)
        waited += wait_ms


async def notify(
    user_id: int, key: str, params: dict | None = None, dedup_key: str | None = None, photo_path: str | None = None
) -> None:
    """Send catalogue text ``key`` to user ``user_id`` (users.id), at most once per ``dedup_key``.

    Parameters:
      user_id: the user's id in our database (not the Telegram id).
      key: an i18n catalogue key ("notify.video.credited") or BROADCAST_TEXT_KEY.
      params: template parameters (JSON values: money as decimal strings).
      dedup_key: makes a resend a no-op for 7 days (None: no dedup).
      photo_path: a local image file to send with the text as its caption.
    """
    runtime = get_runtime()
    params = dict(params or {})
    redis = await runtime.redis()
    pool = await runtime.db()
    async with pool.connection() as conn:
        user = await users.get(conn, user_id)
    if not may_be_messaged(user.status):
        logger.info("user %s blocked the bot; %s not sent", user_id, key)
        await _confirm(runtime, dedup_key)  # never deliverable: the outbox stops relaying it
        return

    guard = OnceGuard(redis, runtime.key("notify", "once", dedup_key)) if dedup_key else None
    if guard is not None:
        claim = await guard.claim()
        if claim is ClaimResult.DONE:
            await _confirm(runtime, dedup_key)  # a relay of a delivered notice whose confirmation was lost
            return
        if claim is ClaimResult.BUSY:
            runtime.send(NOTIFY, user_id, key, params, dedup_key, photo_path, delay_ms=BUSY_RETRY_MS)
            return

    try:
        text = await _render(runtime, redis, language=user.language, key=key, params=params)
        delivered = await _deliver(
            runtime, redis, user=user, key=key, params=params, dedup_key=dedup_key, photo_path=photo_path, text=text
        )
    except BroadcastTextMissing:
        logger.warning("user %s: broadcast %s expired before delivery", user_id, params.get("broadcast_id"))
        delivered = True  # nothing left to send; never retried
    except BaseException:
        if guard is not None:
            await guard.release()
        raise
    if guard is None:
        return
    if delivered:
        await guard.done()
        await _confirm(runtime, dedup_key)
    else:
        await guard.release()


async def _confirm(runtime: Runtime, dedup_key: str | None) -> None:
    """Stamp the notice's outbox row sent (if it has one): only now does the clock stop
    relaying it. A failure here is only a relay too many, which the dedup guard absorbs."""
    if dedup_key is None:
        return
    try:
        pool = await runtime.db()
        async with pool.connection() as conn:
            await outbox.confirm_sent(conn, dedup_key=dedup_key)
    except Exception:
        logger.warning(
            "notice %s delivered but not confirmed in the outbox; a relay will find it done", dedup_key, exc_info=True
        )


async def _deliver(
    runtime: Runtime,
    redis: Redis,
    *,
    user: users.User,
    key: str,
    params: dict,
    dedup_key: str | None,
    photo_path: str | None,
    text: str,
) -> bool:
    """Send every part once within the limits. True: finished (sent, or never sendable);
    False: re-enqueued to carry on later."""
    parts = message_parts(text, with_photo=bool(photo_path))
    progress_key = None
    if len(parts) > 1:
        logger.info("notification %s to user %s split into %d messages", key, user.id, len(parts))
        # the parts sent so far are remembered under the dedup key; make one if none was given
        dedup_key = dedup_key or f"parts:{uuid.uuid4().hex}"
        progress_key = runtime.key("notify", "parts-sent", dedup_key)
    first = int(await redis.get(progress_key) or 0) if progress_key else 0
    limiter = _limiter(runtime, redis)
    bot = await runtime.bot()
    # aiogram is loaded by runtime.bot() (in a thread, once per process): importing it at
    # module level would cost every worker of every queue seconds of start-up
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramNotFound, TelegramRetryAfter
    from aiogram.types import FSInputFile

    for index in range(first, len(parts)):
        wait_ms = await _wait_for_permit(limiter, user.telegram_id)
        if wait_ms:
            runtime.send(NOTIFY, user.id, key, params, dedup_key, photo_path, delay_ms=wait_ms)
            return False
        try:
            if photo_path and index == 0:
                await bot.send_photo(user.telegram_id, FSInputFile(photo_path), caption=parts[0])
            else:
                await bot.send_message(user.telegram_id, parts[index])
        except TelegramRetryAfter as exc:
            delay_ms = max(1, int(exc.retry_after)) * 1000
            await limiter.hold_chat(user.telegram_id, delay_ms=delay_ms)
            logger.info("429 for user %s: retry after %ss", user.id, exc.retry_after)
            runtime.send(NOTIFY, user.id, key, params, dedup_key, photo_path, delay_ms=delay_ms)
            return False
        except TelegramForbiddenError:
            pool = await runtime.db()
            async with pool.connection() as conn:
                await users.mark_inactive(conn, user_id=user.id)
            logger.info("user %s blocked the bot: marked inactive", user.id)
            return True
        except (TelegramBadRequest, TelegramNotFound) as exc:
            # chat not found, bad photo...: sending again would fail the same way
            logger.warning("notification %s to user %s refused: %s", key, user.id, exc.message)
            return True
        if progress_key:
            await redis.set(progress_key, index + 1, ex=PARTS_SENT_TTL_SECONDS)
    return True


def _send_page(runtime: Runtime, broadcast_id: str, user_ids: list[int]) -> None:
    for user_id in user_ids:
        runtime.send(
            NOTIFY,
            user_id,
            BROADCAST_TEXT_KEY,
            {"broadcast_id": broadcast_id},
            f"broadcast:{broadcast_id}:{user_id}",
            None,
        )


async def broadcast(broadcast_id: str, text: str) -> None:
    """Send ``text`` to every active user through notify messages (pages of BROADCAST_PAGE_SIZE).

    Parameters:
      broadcast_id: unique id of this broadcast (the bot makes it); dedup keys derive from it.
      text: plain text, shown as is (HTML-escaped).
    """
    runtime = get_runtime()
    redis = await runtime.redis()
    pool = await runtime.db()
    await redis.set(runtime.key("broadcast", broadcast_id), text, ex=BROADCAST_TEXT_TTL_SECONDS)
    after_id = 0
    while True:
        async with pool.connection() as conn:
            page = await users.list_active_ids(conn, after_id=after_id, limit=BROADCAST_PAGE_SIZE)
        # enqueueing is blocking I/O: a page goes out from a thread, not the event loop
        await asyncio.to_thread(_send_page, runtime, broadcast_id, page)
        if len(page) < BROADCAST_PAGE_SIZE:
            break
        after_id = page[-1]
    logger.info("broadcast %s fanned out", broadcast_id)


ACTORS = (
    ActorSpec(
        NOTIFY,
        notify,
        {
            "throws": (users.UserNotFound,),
            "max_retries": 8,
            "min_backoff": 2_000,
            "max_backoff": 300_000,
            "time_limit": 60_000,
        },
    ),
    ActorSpec(BROADCAST, broadcast, {"max_retries": 5, "time_limit": 600_000}),
)
