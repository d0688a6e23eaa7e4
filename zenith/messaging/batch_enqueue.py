"""Many messages onto a Redis broker in one round trip.

The parsing actor stores a batch of checks in one transaction and then has one credit
notice per video to enqueue. Dramatiq's ``RedisBroker.enqueue`` runs its dispatch script
once per message, a Redis round trip each, on the actor's event loop: about a fifth of
the parsing worker's time went there. ``EnqueueBatch`` queues the same script calls in
one pipeline instead.

Each message still goes through the broker's middleware as ``enqueue`` would have it:
``before_enqueue`` when it is added (so a producer span starts under the caller's
current span), ``after_enqueue`` once the pipeline has run (its "send" span is held
open until then: ``telemetry.dramatiq_middleware.hold_send``). On any other broker
(RabbitMQ, the stub) ``add`` enqueues at once and ``flush`` has nothing left to do.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from opentelemetry.instrumentation.utils import suppress_instrumentation

from zenith.messaging.contract import Route
from zenith.telemetry.dramatiq_middleware import hold_send, release_sends

__all__ = ["EnqueueBatch"]


class EnqueueBatch:
    """Messages added now, sent to the broker together by ``flush`` (not thread-safe: one per caller)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker
        self._redis = broker if isinstance(broker, RedisBroker) else None
        self._pipeline: Any = None
        self._pending: list[dramatiq.Message[Any]] = []

    def add(self, route: Route, *args: Any) -> dramatiq.Message[Any]:
        """Add a message for ``route`` (sent at once on a broker other than Redis)."""
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=route.queue_name, actor_name=route.actor_name, args=tuple(args), kwargs={}, options={}
        )
        broker = self._redis
        if broker is None:
            return self.broker.enqueue(message)
        # what RedisBroker.enqueue does for a message without a delay, with the script call
        # queued on the pipeline instead of run (dramatiq/brokers/redis.py, _dispatch)
        message = message.copy(options={"redis_message_id": str(uuid4())})
        broker.emit_before("enqueue", message, None)
        if self._pipeline is None:
            self._pipeline = broker.client.pipeline(transaction=False)
        broker.scripts["dispatch"](
            keys=[broker.namespace],
            args=[
                "enqueue",
                current_millis(),
                message.queue_name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                broker._should_do_maintenance("enqueue"),
                broker._max_unpack_size(),
                message.options["redis_message_id"],
                message.encode(),
            ],
            client=self._pipeline,
        )
        # on the pipeline now: its send span waits for the flush (a later add must not end it as failed)
        hold_send(message.message_id)
        self._pending.append(message)
        return message

    def flush(self) -> int:
        """Send what was added in one round trip; returns how many messages went out.

        Raises what the pipeline raises (nothing is known to be enqueued then: callers
        treat every message of the batch as not sent, and a resend is harmless).
        """
        pending, pipeline = self._pending, self._pipeline
        self._pending, self._pipeline = [], None
        if not pending:
            return 0
        assert self._redis is not None and pipeline is not None
        try:
            with suppress_instrumentation():  # the producer spans already time these sends
                pipeline.execute()
            for message in pending:
                self._redis.emit_after("enqueue", message, None)
        finally:
            release_sends([message.message_id for message in pending])
        return len(pending)
