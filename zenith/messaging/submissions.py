"""Submitting a video link: the one path the bot and the HTTP API share.

``submit_link`` parses the link (``zenith.domain.links``), refuses it for a blocked
creator, stores it as a 'received' submission (`storage.submissions`) and sends
``submit_video`` to the submission actor, which resolves, de-duplicates, checks ownership
and stores the video. It never waits on a platform: every refusal that needs the
platform's answer (a duplicate, a video from someone else's account) comes from the actor
as a notice to the creator.

PostgreSQL is the only home of accepted work: the row is committed before
``submit_link`` returns, so a caller that then answers "accepted" never acknowledges a
link that is not stored. The message is only a wake-up: when it is lost (the broker
restarted empty, the send timed out) the clock re-sends the row after
SUBMISSION_RESEND_SECONDS. A request id received before (a redelivered update, a resent
API call) is neither stored nor woken again.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Awaitable, Callable

import psycopg

from zenith.config import Settings
from zenith.domain.links import LinkRejected, ParsedLink, parse_link
from zenith.messaging.contract import SUBMIT_VIDEO, Route
from zenith.storage import submissions
from zenith.storage.users import User
from zenith.telemetry.attributes import user_attributes
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.tracing import tracer

logger = logging.getLogger(__name__)

# sends one message to the broker (the bot's and the web process's `send`, each with a deadline)
Send = Callable[..., Awaitable[Any]]
# opens one transaction (the bot's and the web process's `transaction`, each with a deadline)
Transaction = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection]]


class CreatorBlocked(Exception):
    """The creator is banned: nothing is submitted for them."""


async def submit_link(
    *,
    send: Send,
    transaction: Transaction,
    settings: Settings,
    user: User,
    link: str,
    request_id: str,
    source: str,
    campaign_id: int | None = None,
) -> ParsedLink:
    """Store the video at ``link`` for ``user`` as received and wake the actor; returns the parsed link.

    Parameters:
      send: ``await send(route, *args)`` puts the message on the broker.
      transaction: ``async with transaction() as conn`` — one unit of work; the row is
        committed in it before this returns (its errors propagate: nothing was accepted).
      settings: the process settings (PAY_TIKTOK_PHOTO_POSTS, span attributes).
      user: the creator the video is for.
      link: the link as given.
      request_id: unique per submission; a resend with the same id stores nothing new.
      source: who submits ("bot", "api"), for the log line.
      campaign_id: the campaign the creator picked, stored with the row (a re-send keeps
        it); None: the submission actor takes the only open campaign they joined, else
        the default program. Its rules are checked by the actor.

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
    # the first span of the video's trace; submit_video, check_videos and notify follow as children
    attributes = {**user_attributes(user.telegram_id, settings=settings), "zenith.platform": parsed.platform.value}
    with tracer("zenith.submissions").start_as_current_span("submit link", attributes=attributes):
        async with transaction() as conn:
            received, new = await submissions.receive(
                conn,
                request_id=request_id,
                user_id=user.id,
                url=parsed.canonical_url,
                platform=parsed.platform.value,
                campaign_id=campaign_id,
            )
        if new:  # received before: woken then, and the clock covers a lost wake-up
            await _wake(send, SUBMIT_VIDEO, submission=received)
    get_metrics().video_submissions.labels(platform=parsed.platform.value, status="queued").inc()
    logger.info(
        "submission queued", extra={"request_id": request_id, "platform": parsed.platform.value, "source": source}
    )
    return parsed


async def _wake(send: Send, route: Route, *, submission: submissions.Submission) -> None:
    try:
        await send(route, *wake_up_args(submission))
    except Exception as exc:  # the row is committed: the clock re-sends it
        logger.warning(
            "submission %s stored, wake-up not sent (%s); the clock re-sends it",
            submission.request_id,
            type(exc).__name__,
        )


def wake_up_args(submission: submissions.Submission) -> tuple:
    """The ``submit_video`` arguments of a received row: the same for the first send and
    the clock's re-send, so a re-sent link keeps the campaign it was sent to."""
    return submission.user_id, submission.url, submission.request_id, submission.campaign_id
