"""What a piece of work is about (a video, a payout), carried to every span that follows.

Once an actor knows the video it works on, ``tag_video(video_id, platform)`` puts
``zenith.video_id`` / ``zenith.platform`` on the current span AND into the OpenTelemetry
context. From then on:

* every span started in this context gets them (``SubjectAttributesProcessor``): the SQL,
  Redis and HTTP client spans of the instrumented libraries, our own spans;
* every Dramatiq message sent carries them (``message.options["otel_subject"]``, written
  by the tracing middleware), and its "process" span and everything under it in the next
  actor get them too -- so the notification about a video is findable by its id.

The subject travels only inside our own messages (never as W3C baggage, which the HTTP
instrumentation would send to YouTube or Telegram).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor

from zenith.telemetry.attributes import video_attributes

SUBJECT_KEY = otel_context.create_key("zenith.subject")
PAYOUT_ID = "zenith.payout_id"
# Only these keys are accepted from a message, so a message cannot put arbitrary attributes on spans.
SUBJECT_ATTRIBUTES = frozenset({"zenith.video_id", "zenith.platform", PAYOUT_ID})

Subject = Mapping[str, "int | str"]


_EMPTY: Subject = MappingProxyType({})
_PLAIN_VALUES = frozenset({int, str})


def subject_of(context: otel_context.Context | None = None) -> Subject:
    """The subject of ``context`` (default: current) as stored: read-only, not copied.

    Called for every span that starts, so it must stay cheap.
    """
    subject = otel_context.get_value(SUBJECT_KEY, context)
    return subject if isinstance(subject, MappingProxyType) else _EMPTY  # only with_subject sets it


def current_subject(context: otel_context.Context | None = None) -> dict[str, int | str]:
    """The subject attributes of ``context`` (default: the current one), as a new dict; empty when none."""
    return dict(subject_of(context))


def with_subject(attributes: Subject, context: otel_context.Context | None = None) -> otel_context.Context:
    """``context`` (default: current) with ``attributes`` added to its subject (allowed keys only)."""
    subject = subject_of(context)
    cleaned = clean_subject(attributes)
    if not cleaned or (subject and all(subject.get(key) == value for key, value in cleaned.items())):
        return context if context is not None else otel_context.get_current()  # nothing new
    # stored read-only: spans and messages share it without copying
    return otel_context.set_value(SUBJECT_KEY, MappingProxyType({**subject, **cleaned}), context)


def clean_subject(attributes: object) -> dict[str, int | str]:
    """The allowed, well-typed subject attributes of ``attributes`` (e.g. read from a message)."""
    # a dict is checked without the Mapping ABC's isinstance, a value of exactly int or str
    # without two more: the parsing actor builds one subject per video it checks
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        return {}
    return {
        k: v
        for k, v in attributes.items()
        if k in SUBJECT_ATTRIBUTES
        and (type(v) in _PLAIN_VALUES or (isinstance(v, (int, str)) and not isinstance(v, bool)))
    }


def tag(attributes: Subject) -> None:
    """Set ``attributes`` on the current span and make them the subject of what follows.

    The context stays attached until the enclosing Dramatiq message ends (the tracing
    middleware restores the worker's context then) or, in an async actor, until its task ends.
    """
    trace.get_current_span().set_attributes(attributes)
    if all(subject_of().get(key) == value for key, value in attributes.items()):
        return  # already the subject (the message's, or tagged before): no new context
    otel_context.attach(with_subject(attributes))


def tag_video(video_id: int, platform: str | None = None) -> None:
    """``tag(video_attributes(video_id, platform))``: the work from here on is about this video."""
    tag(video_attributes(video_id, platform))


def tag_payout(payout_id: int) -> None:
    """``tag({"zenith.payout_id": payout_id})``: the work from here on is about this payout."""
    tag({PAYOUT_ID: int(payout_id)})


class SubjectAttributesProcessor(SpanProcessor):
    """Copies the context's subject onto every span when it starts (library spans included)."""

    def on_start(self, span, parent_context: otel_context.Context | None = None) -> None:
        subject = subject_of(parent_context)
        if subject:
            span.set_attributes(subject)

    def on_end(self, span) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
