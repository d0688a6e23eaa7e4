"""Spans for work done once per video: the SDK's span data without its per-span machinery.

The parsing worker starts a "check video" span for every video it checks, thousands a
second. The SDK's span pays, per span, for a lock, a bounded attribute mapping that
re-checks every value, bounded lists for events and links, its own self-metrics, and a
copy of itself (``ReadableSpan``) when it ends: about half of what tracing cost that
worker (docs/benchmarks.md, "Ninth round"). ``start_lean_span`` returns a span that is
its own ``ReadableSpan``: a plain dict of attributes, handed to the span processors as
it is when it ends. The sampler, the span processors, the resource and the
instrumentation scope are the tracer's own, so a lean span is sampled, processed and
exported exactly like any other span (``tests/telemetry/test_lean_spans.py``).

A lean span is meant for one piece of our own code on one thread (the event loop's): it
takes no lock. Attribute values are checked as the SDK checks them (str, bool, int and
float as they are, anything else cleaned by the SDK's own function), and past 128
attributes the oldest makes room, as in the SDK.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from time import time_ns
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util import types

from zenith.telemetry.tracing import tracer

logger = logging.getLogger(__name__)

# the SDK's default span limit (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT); our spans carry about ten
MAX_ATTRIBUTES = 128
_SIMPLE = frozenset({str, bool, int, float})
_KEY = frozenset({str})
_UNSET = Status(StatusCode.UNSET)


def start_lean_span(name: str, *, attributes: Mapping[str, types.AttributeValue] | None = None) -> trace.Span:
    """Start an INTERNAL span under the current context, as ``tracer().start_span`` would.

    Parameters:
      name(str): The span's name, e.g. "check video".
      attributes(Mapping|None): Its first attributes (the subject's are added by the
        provider's ``SubjectAttributesProcessor``, as for every span).

    Returns a ``LeanSpan`` when the span is recorded; the API's non-recording span when
    tracing is off or the sampler drops it. It is not made current: pass it to
    ``trace.set_span_in_context`` for that.
    """
    sdk_tracer = tracer()
    if not isinstance(sdk_tracer, SdkTracer):  # tracing off: the API's no-op tracer
        return sdk_tracer.start_span(name, attributes=attributes)
    parent_context = otel_context.get_current()
    parent = trace.get_current_span(parent_context).get_span_context()
    if not sdk_tracer._is_enabled():  # turned off by a tracer configurator: as the SDK does
        return trace.NonRecordingSpan(parent)
    id_generator = sdk_tracer.id_generator
    if parent.is_valid:
        trace_id, random_trace_id = parent.trace_id, parent.trace_flags.random_trace_id
        parent_or_none: SpanContext | None = parent
    else:
        trace_id, random_trace_id = id_generator.generate_trace_id(), id_generator.is_trace_id_random()
        parent_or_none = None
    sampled = sdk_tracer.sampler.should_sample(parent_context, trace_id, name, SpanKind.INTERNAL, attributes, ())
    # the trace flags as the SDK sets them: sampled, and W3C's "random trace id" bit
    flags = TraceFlags.SAMPLED if sampled.decision.is_sampled() else TraceFlags.DEFAULT
    if random_trace_id:
        flags |= TraceFlags.RANDOM_TRACE_ID
    span_id = id_generator.generate_span_id()
    context = SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags), trace_state=sampled.trace_state
    )
    if not sampled.decision.is_recording():
        return trace.NonRecordingSpan(context)
    span = LeanSpan(name, context, parent_or_none, sdk_tracer)
    if sampled.attributes:  # as the SDK: a span starts with the attributes its sampler hands back
        span.set_attributes(sampled.attributes)
    span._start_time = time_ns()
    # processors are typed for the SDK's Span; what they use of it, a LeanSpan has
    sdk_tracer.span_processor.on_start(span, parent_context=parent_context)  # type: ignore[arg-type]
    return span


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span that is its own ``ReadableSpan`` (see the module's docstring)."""

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, sdk_tracer: SdkTracer) -> None:
        # ReadableSpan's fields, set directly: its __init__ would build a Resource when none is given
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = SpanKind.INTERNAL
        self._resource = sdk_tracer.resource
        self._instrumentation_scope = sdk_tracer._instrumentation_scope
        self._instrumentation_info = sdk_tracer.instrumentation_info
        self._attributes: dict[str, types.AttributeValue] = {}
        self._dropped_attributes = 0
        self._events: list[Event] = []
        self._links: tuple[trace.Link, ...] = ()
        self._status = _UNSET
        self._start_time: int | None = None
        self._end_time: int | None = None
        self._processor = sdk_tracer.span_processor

    # -- ReadableSpan -----------------------------------------------------------

    @property
    def attributes(self) -> types.Attributes:
        return self._attributes  # read once, after the span ended: no copy

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @property
    def dropped_events(self) -> int:
        return 0

    @property
    def dropped_links(self) -> int:
        return 0

    # -- trace.Span -------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]  # always set here

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        own = self._attributes
        if (
            self._end_time is None
            and len(own) + len(attributes) <= MAX_ATTRIBUTES
            and _SIMPLE.issuperset(map(type, attributes.values()))
            and _KEY.issuperset(map(type, attributes))
            and "" not in attributes
        ):
            own.update(attributes)  # the usual case, checked in C without a call per pair
            return
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if self._end_time is not None:
            logger.warning("Setting attribute on ended span.")
            return
        if not key or type(key) is not str:
            logger.warning("invalid attribute key %r: must be a non-empty string", key)
            return
        if type(value) not in _SIMPLE:  # sequences and odd types: the SDK's own cleaning
            value = _clean_attribute_value(value, None)
            if value is None:
                return
        attributes = self._attributes
        if key not in attributes and len(attributes) >= MAX_ATTRIBUTES:
            # as the SDK's BoundedAttributes: the oldest pair makes room
            del attributes[next(iter(attributes))]
            self._dropped_attributes += 1
        attributes[key] = value

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        if self._end_time is not None:
            logger.warning("Calling add_event() on an ended span.")
            return
        self._events.append(Event(name=name, attributes=dict(attributes or {}), timestamp=timestamp))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return  # as the SDK: OK is final
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        module, qualname = type(exception).__module__, type(exception).__qualname__
        event: dict[str, Any] = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        event.update(attributes or {})
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            logger.warning("Calling end() on an ended span.")
            return
        self._end_time = end_time if end_time is not None else time_ns()
        self._processor._on_ending(self)  # type: ignore[arg-type]  # typed for the SDK's Span
        self._processor.on_end(self)

    def __repr__(self) -> str:
        return f'LeanSpan(name="{self._name}", context={self._context})'
