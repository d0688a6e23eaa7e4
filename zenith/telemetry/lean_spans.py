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

``start_lean_spans`` starts a batch's spans under one parent in one call: the parent, the
processors' hooks and the context's subject are looked up once, and under a sampled parent
the default sampler's answer is known without asking it (docs/benchmarks.md, "Twelfth round").

A lean span is meant for one piece of our own code on one thread (the event loop's): it
takes no lock. Attribute values are checked as the SDK checks them (str, bool, int and
float as they are, anything else cleaned by the SDK's own function), and past 128
attributes the oldest makes room, as in the SDK.
"""

from __future__ import annotations

import dis
import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from time import time_ns
from typing import Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util import types

from zenith.telemetry.subject import SubjectAttributesProcessor, subject_of
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
    return start_lean_spans(name, [attributes])[0]


def start_lean_spans(name: str, attributes: Sequence[Mapping[str, types.AttributeValue] | None]) -> list[trace.Span]:
    """``start_lean_span(name, attributes=each)`` for each item of ``attributes``, in order.

    The spans share the current context as their parent, so what the SDK would look up
    once per span (the parent, the processors to call, the context's subject) is looked up
    once for all of them: the parsing actor starts its batch's "check video" spans in one
    call. Under a sampled parent of this process, a sampler that keeps every such child
    (``QuietSampler.follows_sampled_local_parents``, true at the default settings) is not
    asked: its answer (record and sample, the parent's trace state, the span's own
    attributes) is known.
    """
    sdk_tracer = tracer()
    if not isinstance(sdk_tracer, SdkTracer):  # tracing off: the API's no-op tracer
        return [sdk_tracer.start_span(name, attributes=each) for each in attributes]
    parent_context = otel_context.get_current()
    parent = trace.get_current_span(parent_context).get_span_context()
    if not sdk_tracer._is_enabled():  # turned off by a tracer configurator: as the SDK does
        return [trace.NonRecordingSpan(parent) for _ in attributes]
    hooks = _hooks(sdk_tracer.span_processor)
    subject = subject_of(parent_context) if SUBJECT_HOOK in hooks.starts else None
    # a SpanContext is a tuple: one unpacking instead of a property call per field
    parent_trace_id, _, parent_is_remote, parent_flags, parent_trace_state, parent_is_valid = parent
    sampler, id_generator = sdk_tracer.sampler, sdk_tracer.id_generator
    follow = (
        parent_is_valid
        and not parent_is_remote
        and parent_flags & TraceFlags.SAMPLED
        and getattr(sampler, "follows_sampled_local_parents", False)
    )
    spans: list[trace.Span] = []
    parent_or_none = parent if parent_is_valid else None
    for each in attributes:
        if parent_is_valid:
            trace_id, random_trace_id = parent_trace_id, parent_flags & TraceFlags.RANDOM_TRACE_ID
        else:  # each span a trace of its own, as with the SDK
            trace_id, random_trace_id = id_generator.generate_trace_id(), id_generator.is_trace_id_random()
        trace_state: TraceState | None
        if follow:
            sampled, recording, trace_state, first = True, True, parent_trace_state, each
        else:
            decision = sampler.should_sample(parent_context, trace_id, name, SpanKind.INTERNAL, each, ())
            sampled, recording = decision.decision.is_sampled(), decision.decision.is_recording()
            trace_state, first = decision.trace_state, decision.attributes
        # the trace flags as the SDK sets them: sampled, and W3C's "random trace id" bit
        flags = TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT
        if random_trace_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        context = SpanContext(
            trace_id,
            id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=trace_state,
        )
        if not recording:
            spans.append(trace.NonRecordingSpan(context))
            continue
        span = LeanSpan(name, context, parent_or_none, sdk_tracer, hooks.ends)
        if first:  # as the SDK: a span starts with the attributes its sampler hands back
            span.set_attributes(first)
        span.start_time = time_ns()
        for hook in hooks.starts:
            if hook is SUBJECT_HOOK:
                if subject:
                    span.set_attributes(subject)
            else:
                hook(span, parent_context=parent_context)
        spans.append(span)
    return spans


class _Hooks(NamedTuple):
    """What the span processors do with a lean span, in the SDK's order."""

    starts: tuple[Callable[..., None], ...]  # on_start; SUBJECT_HOOK where the subject processor's is
    ends: tuple[Callable[[Any], None], ...]  # every _on_ending, then every on_end


def SUBJECT_HOOK(span: Any, parent_context: otel_context.Context | None = None) -> None:  # noqa: N802 (a marker)
    """Stands for ``SubjectAttributesProcessor.on_start``: the subject is read once per call
    of ``start_lean_spans``, not once per span."""
    raise AssertionError("a marker, never called")


# (the processors' tuple, their hooks): providers add processors at start-up, so this
# changes once or twice per process; a new tuple means new hooks
_cached_hooks: tuple[object, _Hooks] | None = None


def _hooks(span_processor: Any) -> _Hooks:
    """The hooks of a provider's processors that do something (``_does_nothing``).

    The SDK calls every processor for every span through its multi-processor: three calls
    per processor (start, ending, end), most of them empty (the batch processor's start and
    ending, the subject processor's end).
    """
    global _cached_hooks
    processors = getattr(span_processor, "_span_processors", None)
    if type(processors) is not tuple:  # not the SDK's multi-processor: call it as the SDK does
        return _Hooks((span_processor.on_start,), (span_processor._on_ending, span_processor.on_end))
    cached = _cached_hooks
    if cached is not None and cached[0] is processors:
        return cached[1]
    starts = tuple(
        SUBJECT_HOOK if type(p) is SubjectAttributesProcessor else p.on_start
        for p in processors
        if not _does_nothing(p.on_start)
    )
    ends = tuple(p._on_ending for p in processors if not _does_nothing(p._on_ending)) + tuple(
        p.on_end for p in processors if not _does_nothing(p.on_end)
    )
    hooks = _Hooks(starts, ends)
    _cached_hooks = (processors, hooks)
    return hooks


_EMPTY_BODY = frozenset({"RESUME", "NOP", "RETURN_VALUE", "RETURN_CONST", "LOAD_CONST"})


def _does_nothing(method: Callable[..., Any]) -> bool:
    """True for a Python method whose body is ``pass`` or ``return None`` (its docstring aside)."""
    code = getattr(getattr(method, "__func__", None), "__code__", None)
    if code is None:
        return False
    return all(
        instruction.opname in _EMPTY_BODY
        and (instruction.opname not in ("LOAD_CONST", "RETURN_CONST") or instruction.argval is None)
        for instruction in dis.get_instructions(code)
    )


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span that is its own ``ReadableSpan`` (see the module's docstring).

    ``ReadableSpan``'s fields are plain attributes here, not its properties: the batch
    processor and the encoder read a dozen of them from every span, and a property is a
    call each time. (Declared on the class so they shadow the inherited properties.)
    """

    name: str = ""  # type: ignore[assignment]
    context: SpanContext = INVALID_SPAN_CONTEXT  # type: ignore[assignment]
    kind: SpanKind = SpanKind.INTERNAL  # type: ignore[assignment]
    parent: SpanContext | None = None  # type: ignore[assignment]
    start_time: int | None = None  # type: ignore[assignment]
    end_time: int | None = None  # type: ignore[assignment]
    status: Status = _UNSET  # type: ignore[assignment]
    attributes: dict[str, types.AttributeValue] = {}  # type: ignore[assignment]  # replaced per span
    # a list of its own from the first event: most spans have none, and an empty list per span
    # waiting for export is one more object for the collector to walk
    events: Sequence[Event] = ()  # type: ignore[assignment]
    links: tuple[trace.Link, ...] = ()  # type: ignore[assignment]
    resource: Resource = Resource.get_empty()  # type: ignore[assignment]
    instrumentation_scope: InstrumentationScope | None = None  # type: ignore[assignment]
    dropped_attributes: int = 0  # type: ignore[assignment]
    dropped_events: int = 0  # type: ignore[assignment]  # never dropped: no limit on events
    dropped_links: int = 0  # type: ignore[assignment]  # a lean span has no links

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        sdk_tracer: SdkTracer,
        ends: tuple[Callable[[Any], None], ...],
    ) -> None:
        # ReadableSpan's __init__ is not called: it would build a Resource when none is given
        self.name = name
        self.context = context
        self.parent = parent
        self.resource = sdk_tracer.resource
        self.instrumentation_scope = sdk_tracer._instrumentation_scope
        self._instrumentation_info = sdk_tracer.instrumentation_info  # the deprecated property reads it
        self.attributes = {}
        self._ends = ends

    def to_json(self, indent: int | None = 4) -> str:
        """As ``ReadableSpan.to_json`` (the console exporter's), from a copy the SDK can read."""
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=self.resource,
            attributes=self.attributes,
            events=self.events,
            links=self.links,
            kind=self.kind,
            status=self.status,
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self.instrumentation_scope,
        ).to_json(indent)

    # -- trace.Span -------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_time is None

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        own = self.attributes
        if (
            self.end_time is None
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
        if self.end_time is not None:
            logger.warning("Setting attribute on ended span.")
            return
        if not key or type(key) is not str:
            logger.warning("invalid attribute key %r: must be a non-empty string", key)
            return
        if type(value) not in _SIMPLE:  # sequences and odd types: the SDK's own cleaning
            value = _clean_attribute_value(value, None)
            if value is None:
                return
        attributes = self.attributes
        if key not in attributes and len(attributes) >= MAX_ATTRIBUTES:
            # as the SDK's BoundedAttributes: the oldest pair makes room
            del attributes[next(iter(attributes))]
            self.dropped_attributes += 1
        attributes[key] = value

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        if self.end_time is not None:
            logger.warning("Calling add_event() on an ended span.")
            return
        event = Event(name=name, attributes=dict(attributes or {}), timestamp=timestamp)
        self.events = [*self.events, event]

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self.end_time is not None or self.status.status_code is StatusCode.OK:
            return  # as the SDK: OK is final
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self.status = status

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
        if self.end_time is not None:
            logger.warning("Calling end() on an ended span.")
            return
        self.end_time = end_time if end_time is not None else time_ns()
        for hook in self._ends:
            hook(self)

    def __repr__(self) -> str:
        return f'LeanSpan(name="{self.name}", context={self.context})'
