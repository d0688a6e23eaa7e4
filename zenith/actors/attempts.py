"""Knowing, inside an actor, whether this delivery is Dramatiq's last try.

An actor that fails raises, and Dramatiq's Retries middleware re-enqueues the message
until ``retries`` reaches the actor's ``max_retries``; the last failure only logs a
warning and dead-letters the message. An actor whose creator is waiting for an answer
(a submission, an account check) asks `is_last_attempt()` before raising, and tells
the creator what happened instead of failing silently.

The current message comes from Dramatiq's `CurrentMessage` middleware (a context
variable, which reaches async actors too: the worker thread's context is copied into
the coroutine's task). `ensure_current_message(broker)` adds it once per broker.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.retries import Retries


def ensure_current_message(broker: dramatiq.Broker) -> None:
    """Add the `CurrentMessage` middleware to ``broker`` unless it is there already."""
    if not any(isinstance(middleware, CurrentMessage) for middleware in broker.middleware):
        broker.add_middleware(CurrentMessage())


def _max_retries(broker: dramatiq.Broker, message: dramatiq.Message) -> int | None:
    if "max_retries" in message.options:
        return message.options["max_retries"]
    actor = broker.get_actor(message.actor_name)
    if "max_retries" in actor.options:
        return actor.options["max_retries"]
    for middleware in broker.middleware:
        if isinstance(middleware, Retries):
            return middleware.max_retries
    return None


def is_last_attempt(broker: dramatiq.Broker) -> bool:
    """True when a failure of the message being processed will not be retried.

    Parameters:
      broker: the broker the actor is bound to (its options give ``max_retries``).

    Outside an actor (no current message) this is False: the caller is a test or a
    script calling the function directly, and nothing retries it anyway.
    """
    message = CurrentMessage.get_current_message()
    if message is None:
        return False
    max_retries = _max_retries(broker, message)
    if max_retries is None:
        return False
    return message.options.get("retries", 0) >= max_retries


def current_message_id() -> str | None:
    """The id of the message being processed (kept across Dramatiq's retries), or None."""
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else None


def next_retry_within_ms(broker: dramatiq.Broker) -> int | None:
    """An upper bound of the delay before Dramatiq retries the message being processed,
    should it fail now (its back-off doubles per retry, plus up to as much jitter); None
    outside an actor. Lets an actor tell the clock when to expect its message back."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    actor = broker.get_actor(message.actor_name)
    min_backoff = message.options.get("min_backoff", actor.options.get("min_backoff"))
    if min_backoff is None:
        min_backoff = next((m.min_backoff for m in broker.middleware if isinstance(m, Retries)), 15_000)
    return 2 * int(min_backoff) * 2 ** min(message.options.get("retries", 0), 32)
