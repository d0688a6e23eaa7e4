"""A message's trace context headers: what ``propagate.inject`` writes, without its detours.

The parsing actor sends a credit notice per video it credits, each carrying its video's
"check video" context (``dramatiq_middleware.carry_context``). Through the global
propagator that is some twenty Python calls per message: the composite propagator, W3C
trace context's property reads and formatting helpers, the baggage propagator finding no
baggage. With the propagators at their default (``OTEL_PROPAGATORS`` unset or
"tracecontext,baggage") and no baggage in the context, ``trace_carrier`` writes the same
``traceparent`` (and ``tracestate``) directly; anything else goes through
``propagate.inject`` as before (``tests/telemetry/test_w3c_carrier.py`` compares the two).
"""

from __future__ import annotations

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

_W3C = (TraceContextTextMapPropagator, W3CBaggagePropagator)
# (the global propagator, whether it is W3C's trace context [and baggage] only): set at start-up
_checked: tuple[TextMapPropagator, bool] | None = None


def trace_carrier(context: otel_context.Context | None = None) -> dict[str, str]:
    """The headers ``propagate.inject`` would write for ``context`` (default: the current one).

    Empty when there is no valid span in it (tracing off, or outside any trace).
    """
    textmap = propagate.get_global_textmap()
    if context is None:
        context = otel_context.get_current()
    if not _w3c_only(textmap) or baggage.get_all(context):
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=context)
        return carrier
    # a SpanContext is a tuple: one unpacking instead of a property call per field
    trace_id, span_id, _, trace_flags, trace_state, is_valid = trace.get_current_span(context).get_span_context()
    if not is_valid:  # the W3C propagator writes nothing for the invalid context either
        return {}
    carrier = {"traceparent": f"00-{trace_id:032x}-{span_id:016x}-{trace_flags:02x}"}
    if trace_state is not DEFAULT_TRACE_STATE and trace_state:
        carrier["tracestate"] = trace_state.to_header()
    return carrier


def _w3c_only(textmap: TextMapPropagator) -> bool:
    """True when ``textmap`` is W3C trace context, alone or with W3C baggage (the default)."""
    global _checked
    checked = _checked
    if checked is not None and checked[0] is textmap:
        return checked[1]
    if type(textmap) is CompositePropagator:
        # the composite keeps its list in a private field; if that changes, inject is used
        parts = getattr(textmap, "_propagators", None)
        w3c = isinstance(parts, (list, tuple)) and any(type(p) is TraceContextTextMapPropagator for p in parts)
        w3c = w3c and all(type(p) in _W3C for p in parts)  # type: ignore[union-attr]
    else:
        w3c = type(textmap) is TraceContextTextMapPropagator
    _checked = (textmap, w3c)
    return w3c
