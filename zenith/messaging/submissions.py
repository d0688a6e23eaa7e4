"""Submitting a video link: the one path the bot and the HTTP API share.

``submit_link`` parses the link (``zenith.domain.links``), refuses it for a blocked
creator, and sends ``submit_video`` to the submission actor, which resolves, de-duplicates,
checks ownership and stores. It never waits on a platform: every refusal that needs the
platform's answer (a duplicate, a video from someone else's account) comes from the actor
as a notice to the creator.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from zenith.config import Settings
from zenith.domain.links import LinkRejected, ParsedLink, parse_link
from zenith.messaging.contract import SUBMIT_VIDEO, Route
from zenith.storage.users import User
from zenith.telemetry.attributes import user_attributes
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.tracing import tracer

logger = logging.getLogger(__name__)

# sends one message to the broker (the bot's and the web process's `send`, each with a deadline)
Send = Callable[..., Awaitable[Any]]


class CreatorBlocked(Exception):
    """The creator is banned: nothing is submitted for them."""


async def submit_link(*, send: Send, settings: Settings, user: User, link: str, request_id: str, source: str) -> ParsedLink:
    """Queue the video at ``link`` for ``user``; returns the parsed link.

    Parameters:
      send: ``await send(route, *args)`` puts the message on the broker.
      settings: the process settings (PAY_TIKTOK_PHOTO_POSTS, span attributes).
      user: the creator the video is for.
      link: the link as given.
      request_id: unique per submission; a resend with the same id stores nothing new.
      source: who submits ("bot", "api"), for the log line.

    Raises LinkRejected (the reason says why) and CreatorBlocked; both are counted in
    ``video_submissions``.
    """
    try:
        parsed = parse_link(link, photo_posts=settings.pay_tiktok_photo_posts)
    except LinkRejected:
        get_metrics().video_submissions.labels(platform="unknown", status="invalid_link").inc()
        raise
    if not user.is_active:
        get_metrics().video_submissions.labels(platform=parsed.platform.value, status="blocked").inc()
        raise CreatorBlocked(f"user {user.id} is {user.status}")
    await _send(send, settings, SUBMIT_VIDEO, user=user, parsed=parsed, request_id=request_id)
    get_metrics().video_submissions.labels(platform=parsed.platform.value, status="queued").inc()
    logger.info("submission queued", extra={"request_id": request_id, "platform": parsed.platform.value, "source": source})
    return parsed


async def _send(send: Send, settings: Settings, route: Route, *, user: User, parsed: ParsedLink, request_id: str) -> None:
    # the first span of the video's trace; submit_video, check_videos and notify follow as children
    attributes = {**user_attributes(user.telegram_id, settings=settings), "zenith.platform": parsed.platform.value}
    with tracer("zenith.submissions").start_as_current_span("submit link", attributes=attributes):
        await send(route, user.id, parsed.canonical_url, request_id)
