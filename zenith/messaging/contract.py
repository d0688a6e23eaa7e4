"""The message contract: every actor's name, queue and arguments, in one place.

Senders use `send(...)` with these names; the actors in `zenith.actors` register the
same names. Messages carry ids, never rows, and every actor is safe to run twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq


@dataclass(frozen=True)
class Route:
    actor_name: str
    queue_name: str


# queue per concern (DESIGN "Shape")
SUBMISSION = "submission"
PARSING = "parsing"
RATES = "rates"
PAYOUTS = "payouts"
NOTIFICATIONS = "notifications"
QUEUES = (SUBMISSION, PARSING, RATES, PAYOUTS, NOTIFICATIONS)

# submit_video(user_id: int, url: str, request_id: str, campaign_id: int | None) -- request_id makes a
# resend a no-op; campaign_id: the campaign picked (None: the only open one joined, else the default)
SUBMIT_VIDEO = Route("submit_video", SUBMISSION)
# verify_account(account_id: int) -- looks for the one-time code in the profile / channel
VERIFY_ACCOUNT = Route("verify_account", SUBMISSION)
# check_videos(video_ids: list[int]) -- one message may carry many ids (YouTube: 50 per call)
CHECK_VIDEOS = Route("check_videos", PARSING)
# refresh_rates()
REFRESH_RATES = Route("refresh_rates", RATES)
# process_payout(payout_id: int) -- moves a payout one step along its state machine
PROCESS_PAYOUT = Route("process_payout", PAYOUTS)
# notify(user_id: int, key: str, params: dict, dedup_key: str | None, photo_path: str | None)
NOTIFY = Route("notify", NOTIFICATIONS)
# broadcast(broadcast_id: str, text: str) -- fans out to every active user through notify
BROADCAST = Route("broadcast", NOTIFICATIONS)

ROUTES = (SUBMIT_VIDEO, VERIFY_ACCOUNT, CHECK_VIDEOS, REFRESH_RATES, PROCESS_PAYOUT, NOTIFY, BROADCAST)


def send(
    route: Route, *args: Any, delay_ms: int | None = None, broker: dramatiq.Broker | None = None, **kwargs: Any
) -> dramatiq.Message:
    """Enqueue a message for `route` on the current broker without importing the actor."""
    target = broker or dramatiq.get_broker()
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=route.queue_name,
        actor_name=route.actor_name,
        args=tuple(args),
        kwargs=kwargs,
        options={},
    )
    return target.enqueue(message, delay=delay_ms)
