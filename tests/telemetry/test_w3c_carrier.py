"""``trace_carrier`` writes what ``propagate.inject`` writes, for every kind of context."""

from __future__ import annotations

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import DefaultGetter, DefaultSetter, TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from zenith.telemetry import w3c_carrier
from zenith.telemetry.w3c_carrier import trace_carrier

SAMPLED_REMOTE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _contexts() -> dict[str, otel_context.Context]:
    tracer = TracerProvider().get_tracer("test")
    span = tracer.start_span("check video")
    unsampled = NonRecordingSpan(SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=TraceFlags(0)))
    with_state = NonRecordingSpan(
        SpanContext(0xABC, 0x123, is_remote=False, trace_flags=TraceFlags(3), trace_state=TraceState([("k", "v")]))
    )
    remote = propagate.extract({"traceparent": SAMPLED_REMOTE, "tracestate": "vendor=1,other=two"})
    return {
        "empty": otel_context.Context(),
        "sampled span": trace.set_span_in_context(span),
        "unsampled span": trace.set_span_in_context(unsampled),
        "trace state": trace.set_span_in_context(with_state),
        "remote parent": remote,
        "invalid span": trace.set_span_in_context(trace.INVALID_SPAN),
        "baggage": baggage.set_baggage("tenant", "a b", trace.set_span_in_context(span)),
    }


@pytest.mark.parametrize("name", list(_contexts()))
def test_the_carrier_is_what_inject_writes(name):
    context = _contexts()[name]
    injected: dict[str, str] = {}
    propagate.inject(injected, context=context)
    assert trace_carrier(context) == injected
    token = otel_context.attach(context)
    try:
        assert trace_carrier() == injected  # the current context by default
    finally:
        otel_context.detach(token)
    if name in ("sampled span", "trace state", "baggage"):
        assert "traceparent" in injected  # the comparison is not between two empty dicts
    if name == "baggage":
        assert injected["baggage"].startswith("tenant=")  # written by the baggage propagator


class _Tenant(TextMapPropagator):
    """A propagator of its own: the carrier must then come from ``propagate.inject``."""

    def extract(self, carrier, context=None, getter=DefaultGetter()):  # noqa: B008 (as the API declares it)
        return context or otel_context.Context()

    def inject(self, carrier, context=None, setter=DefaultSetter()):  # noqa: B008
        setter.set(carrier, "x-tenant", "zenith")

    @property
    def fields(self):
        return {"x-tenant"}


@pytest.mark.parametrize(
    "textmap",
    [
        CompositePropagator([TraceContextTextMapPropagator(), _Tenant()]),
        CompositePropagator([_Tenant()]),
        TraceContextTextMapPropagator(),
    ],
    ids=["with another", "another only", "trace context alone"],
)
def test_configured_propagators_are_followed(textmap):
    context = _contexts()["sampled span"]
    default = propagate.get_global_textmap()
    propagate.set_global_textmap(textmap)
    try:
        injected: dict[str, str] = {}
        propagate.inject(injected, context=context)
        assert trace_carrier(context) == injected
    finally:
        propagate.set_global_textmap(default)
    assert trace_carrier(context).keys() == {"traceparent"}


def test_the_default_propagators_take_the_direct_path():
    assert w3c_carrier._w3c_only(propagate.get_global_textmap())
