"""Trace context through Dramatiq messages (W3C traceparent in ``message.options["otel"]``).

Sending a message opens a PRODUCER span "send {queue}" and writes its context into the
message; processing opens a CONSUMER span "process {queue}" under it, current while the
actor runs (async actors too, see ``before_process_message``). Spans follow the
OpenTelemetry messaging conventions (messaging.system="dramatiq", ...).

Dramatiq calls ``before_enqueue`` again when it re-enqueues the same message: a retry
(Retries middleware, from the failed attempt's ``after_process_message``) and a delayed
message moved to its queue when due (consumer thread). The message already carries the
context of its first send, and it is kept: every attempt of one message is a child of
that one "send" span, in the sender's trace, whatever context is current at re-enqueue.

Add it with ``install_telemetry_middleware(broker)`` so it comes FIRST in the broker's
list: Dramatiq runs ``after_*`` hooks in reverse order, so the consumer span is still
current while Retries, Callbacks and Pipelines send their follow-up messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from zenith.telemetry.links import pending_new_root_links
from zenith.telemetry.subject import clean_subject, current_subject, with_subject
from zenith.telemetry.tracing import tracer
from zenith.telemetry.w3c_carrier import trace_carrier

logger = logging.getLogger(__name__)

CARRIER_OPTION = "otel"
SUBJECT_OPTION = "otel_subject"  # zenith.video_id / platform / payout_id the message is about
SYSTEM = "dramatiq"

MESSAGING_SYSTEM = "messaging.system"
DESTINATION = "messaging.destination.name"
MESSAGE_ID = "messaging.message.id"
OPERATION_TYPE = "messaging.operation.type"
OPERATION_NAME = "messaging.operation.name"
ACTOR = "messaging.dramatiq.actor"
RETRIES = "messaging.dramatiq.retries"
DELAY_MS = "messaging.dramatiq.delay_ms"
SKIPPED = "messaging.dramatiq.skipped"
FAILED = "messaging.dramatiq.failed"


# ids of messages this thread has handed to a pipeline that has not run yet
# (messaging.batch_enqueue): their "send" spans stay open until it runs
_in_pipeline = threading.local()


def _held_sends() -> set[str]:
    held: set[str] | None = getattr(_in_pipeline, "ids", None)
    if held is None:
        held = _in_pipeline.ids = set()
    return held


def hold_send(message_id: str) -> None:
    """The message's enqueue completes later (a pipeline): another send meanwhile must
    not end its span as failed."""
    _held_sends().add(message_id)


def release_sends(message_ids: list[str]) -> None:
    """The pipeline ran (``after_enqueue`` ends their spans) or failed (the next send on
    this thread ends them as "enqueue did not complete")."""
    _held_sends().difference_update(message_ids)


# set while this thread sends messages that carry the current span as their parent,
# without a "send" span of their own (carry_context)
_carrying = threading.local()


@contextmanager
def carry_context() -> Iterator[None]:
    """Messages sent inside carry the current context but open no "send" span: their
    "process" span is a child of the span current here. For a sender with one message
    per video (the parsing actor's credit notices), where a span per send would be a
    third of the video's spans and cost (docs/telemetry.md, "Cost")."""
    before = getattr(_carrying, "on", False)
    _carrying.on = True
    try:
        yield
    finally:
        _carrying.on = before


def message_attributes(message: dramatiq.Message[Any] | MessageProxy, *, operation: str) -> dict[str, Any]:
    return {
        MESSAGING_SYSTEM: SYSTEM,
        DESTINATION: q_name(message.queue_name),
        MESSAGE_ID: message.message_id,
        OPERATION_TYPE: operation,
        OPERATION_NAME: operation,
        ACTOR: message.actor_name,
    }


class TracingMiddleware(dramatiq.Middleware):
    """Propagates the trace context through messages and traces their processing.

    State lives in a thread-local: Dramatiq runs ``before_/after_process_message`` on the
    worker thread that runs the actor, and ``before_/after_enqueue`` on the sending thread.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    # -- producer -------------------------------------------------------------

    def _pending_sends(self) -> dict[str, trace.Span]:
        pending = getattr(self._local, "sends", None)
        if pending is None:
            pending = self._local.sends = {}
        return pending

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        if CARRIER_OPTION in message.options:
            return  # a retry or a due delayed message: keep the first send as parent
        pending = self._pending_sends()
        held = _held_sends()
        for stale_id in list(pending):
            if stale_id in held:
                continue  # in a pipeline still to run
            # do_enqueue raised before after_enqueue for an earlier message on this thread
            span = pending.pop(stale_id)
            span.set_status(Status(StatusCode.ERROR, "enqueue did not complete"))
            span.end()
        if getattr(_carrying, "on", False) and pending_new_root_links() is None:
            context = otel_context.get_current()
            carried = trace_carrier(context)  # tracing off: nothing, and the message goes out untouched
            if carried:
                message.options[CARRIER_OPTION] = carried
                subject = current_subject(context)
                if subject:
                    message.options[SUBJECT_OPTION] = subject
            return
        queue = q_name(message.queue_name)
        attributes = message_attributes(message, operation="send")
        if delay:
            attributes[DELAY_MS] = int(delay)
        new_root_links = pending_new_root_links()
        if new_root_links is not None:
            parent, links = otel_context.Context(), list(new_root_links)
        else:
            parent, links = None, None
        span = tracer().start_span(
            f"send {queue}", context=parent, kind=SpanKind.PRODUCER, attributes=attributes, links=links
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        # Tracing off (no-op span): nothing is injected and the message goes out untouched.
        if carrier:
            message.options[CARRIER_OPTION] = carrier
            subject = current_subject(parent) if parent is not None else current_subject()
            if subject:
                message.options[SUBJECT_OPTION] = subject
        if span.is_recording():
            pending[message.message_id] = span

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        span = self._pending_sends().pop(message.message_id, None)
        if span is not None:
            span.end()

    # -- consumer -------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Start "process {queue}" under the message's context and make it current.

        Async actors run on the AsyncIO middleware's event-loop thread, submitted with
        ``asyncio.run_coroutine_threadsafe``; its ``call_soon_threadsafe`` copies the
        calling (worker) thread's contextvars into the callback that creates the task,
        so the span attached here is current inside the coroutine as well
        (tests/telemetry/test_dramatiq_tracing.py checks it).
        """
        parent = propagate.extract(message.options.get(CARRIER_OPTION) or {})
        subject = clean_subject(message.options.get(SUBJECT_OPTION))
        if subject:  # the span, and everything under it, is about the sender's video/payout
            parent = with_subject(subject, parent)
        attributes = message_attributes(message, operation="process")
        attributes[RETRIES] = int(message.options.get("retries", 0))
        queue = q_name(message.queue_name)
        span = tracer().start_span(f"process {queue}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        self._local.processing = (span, token)

    def _finish(self, message: MessageProxy, *, exception: BaseException | None = None, skipped: bool = False) -> None:
        state = getattr(self._local, "processing", None)
        if state is None:
            return  # an earlier middleware failed before ours started a span
        self._local.processing = None
        span, token = state
        try:
            if skipped:
                span.set_attribute(SKIPPED, True)
            if message.failed:
                span.set_attribute(FAILED, True)
            if exception is not None:
                span.record_exception(exception)
                span.set_status(Status(StatusCode.ERROR, f"{type(exception).__name__}: {exception}"))
            span.end()
        finally:
            otel_context.detach(token)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._finish(message, exception=exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._finish(message, skipped=True)


def add_first(broker: dramatiq.Broker, middleware: dramatiq.Middleware) -> None:
    """Put ``middleware`` at the front of the broker's list (its after-hooks then run last)."""
    if broker.middleware:
        broker.add_middleware(middleware, before=type(broker.middleware[0]))
    else:
        broker.add_middleware(middleware)


def untrace_broker_client(broker: dramatiq.Broker) -> bool:
    """Keep the broker's own Redis commands out of traces; True when the broker has a Redis client.

    The Redis broker polls, acks and enqueues through Lua scripts (``EVALSHA ? ? ...``): a
    "send {queue}" span already times an enqueue, and polling is not part of any work. With
    the Redis instrumentation on, each command would still open (and mostly drop) a span;
    under ``suppress_instrumentation`` the instrumentation calls straight through. Only this
    client is affected: the actors' own Redis commands stay traced.
    """
    client = getattr(broker, "client", None)
    if client is None or getattr(client, "_zenith_untraced", False):
        return client is not None
    client_class = type(client)

    def execute_command(*args, **options):
        with suppress_instrumentation():  # looked up per call: instrumenting later changes nothing
            return client_class.execute_command(client, *args, **options)

    client.execute_command = execute_command
    client._zenith_untraced = True
    return True


def install_telemetry_middleware(broker: dramatiq.Broker, *, metrics=None) -> TracingMiddleware:
    """Add tracing (and Dramatiq metrics) middleware to ``broker`` in the right place.

    Parameters:
      broker(Broker): The broker, after ``build_broker``; call once per broker.
      metrics(ZenithMetrics|None): Registry bundle for the message counters; defaults to the
        process-wide ``get_metrics()``. Pass ``False`` to leave metrics out.

    The broker's own Redis commands are kept out of traces (``untrace_broker_client``).

    Returns the tracing middleware. Tracing costs nothing measurable while it is off.
    """
    from zenith.telemetry.dramatiq_metrics import DramatiqMetricsMiddleware
    from zenith.telemetry.metrics import get_metrics

    if metrics is not False:
        add_first(broker, DramatiqMetricsMiddleware(metrics=metrics or get_metrics()))
    tracing = TracingMiddleware()
    add_first(broker, tracing)
    untrace_broker_client(broker)
    return tracing


def install(broker: dramatiq.Broker, *, settings, service_name: str | None = None, metrics=None) -> TracingMiddleware:
    """Worker-process convenience: ``setup_tracing`` (unless already on), then the middleware.

    Parameters:
      broker(Broker): The broker.
      settings(Settings): Passed to ``setup_tracing``.
      service_name(str|None): The role, e.g. "worker-parsing" or "zenith-worker-parsing";
        default "worker".
      metrics: As for ``install_telemetry_middleware``.
    """
    from zenith.telemetry.tracing import setup_tracing, tracing_enabled

    if not tracing_enabled():
        setup_tracing(settings, role=service_name or "worker")
    return install_telemetry_middleware(broker, metrics=metrics)
