"""New traces linked to an earlier one: each re-check of a video is its own trace.

A video is followed for weeks; chaining every re-check under the submission's trace
would make one endless trace. Instead a re-check starts a new root span (or the clock
sends its message as a new root) carrying a Link to the video's first trace, stored in
``videos.trace_id``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags

from zenith.telemetry.tracing import tracer

# Context key read by the Dramatiq middleware: "send the next message(s) as new roots".
NEW_ROOT_LINKS_KEY = otel_context.create_key("zenith.new_root_links")
LINK_REASON = "zenith.link.reason"


class InvalidTraceId(ValueError):
    """A stored trace or span id is not the hex OpenTelemetry writes."""


def _parse_hex(value: str, *, digits: int, what: str) -> int:
    text = (value or "").strip().lower()
    if len(text) != digits:
        raise InvalidTraceId(f"{what} must be {digits} hex digits, got {value!r}")
    try:
        number = int(text, 16)
    except ValueError:
        raise InvalidTraceId(f"{what} must be {digits} hex digits, got {value!r}") from None
    if number == 0:
        raise InvalidTraceId(f"{what} must not be all zeros")
    return number


def link_to_trace(
    trace_id_hex: str, span_id_hex: str | None = None, *, reason: str = "first trace of the video"
) -> Link:
    """A Link to a stored trace (and span, when known).

    Parameters:
      trace_id_hex(str): 32 hex digits, e.g. ``videos.trace_id``.
      span_id_hex(str|None): 16 hex digits of the span to point at; None links the trace
        only (allowed by the spec when the link has attributes; it carries ``zenith.link.reason``).
      reason(str): Stored as the link attribute ``zenith.link.reason``.

    Raises:
      InvalidTraceId: When an id is not well-formed hex.
    """
    trace_id = _parse_hex(trace_id_hex, digits=32, what="trace id")
    span_id = _parse_hex(span_id_hex, digits=16, what="span id") if span_id_hex else trace.INVALID_SPAN_ID
    span_context = SpanContext(
        trace_id=trace_id, span_id=span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return Link(span_context, attributes={LINK_REASON: reason})


@contextmanager
def start_linked_root_span(
    name: str,
    link_trace_id_hex: str | None,
    link_span_id_hex: str | None = None,
    attributes: Mapping[str, str | int | float | bool] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[trace.Span]:
    """Start a span in a NEW trace (no parent, whatever is current), linked to a stored trace.

    Parameters:
      name(str): Span name, e.g. "recheck video".
      link_trace_id_hex(str|None): The first trace to link to; None starts an unlinked root
        (a video stored before tracing was on has no first trace).
      link_span_id_hex(str|None): The span to link to, when known.
      attributes(Mapping|None): Span attributes (use ``video_attributes(...)``).
      kind(SpanKind): Span kind. Default INTERNAL.

    The span is current inside the ``with`` block; messages sent there join its trace.
    """
    links = [link_to_trace(link_trace_id_hex, link_span_id_hex)] if link_trace_id_hex else []
    with tracer().start_as_current_span(
        name, context=otel_context.Context(), kind=kind, links=links, attributes=dict(attributes or {})
    ) as span:
        yield span


@contextmanager
def new_trace_for_message(*, links: Sequence[Link] = ()) -> Iterator[None]:
    """Messages sent inside this block each start a NEW trace instead of joining the current one.

    The Dramatiq ``TracingMiddleware`` makes each message's "send {queue}" span a root
    carrying ``links`` (e.g. ``[link_to_trace(video.trace_id)]``, one per video of a batch).
    Use it where a long-lived sender (the clock) enqueues independent work, so its loop
    does not become the parent of every re-check forever.

    Parameters:
      links(Sequence[Link]): Links put on every send span started in the block.
    """
    token = otel_context.attach(otel_context.set_value(NEW_ROOT_LINKS_KEY, tuple(links), otel_context.Context()))
    try:
        yield
    finally:
        otel_context.detach(token)


def pending_new_root_links() -> tuple[Link, ...] | None:
    """Links requested by an enclosing ``new_trace_for_message``; None when not inside one."""
    links = otel_context.get_value(NEW_ROOT_LINKS_KEY)
    return links if isinstance(links, tuple) else None
