"""Which spans are recorded: head sampling from OTEL_TRACES_SAMPLER, minus spans that say nothing.

The decision is taken when a span starts, before the instrumentation fills in its
attributes, so a span dropped here costs a no-op span and nothing else (no attribute
copying, no processor, no export).

Always dropped (``QuietSampler``):

* CLIENT spans outside any trace -- the broker's polling, connection-pool checks between
  messages: each would be a one-span trace every second;
* psycopg spans of an empty statement -- the pool's connection check (``conn.execute("")``)
  before every checkout, named after the database because it has no SQL verb.

Everything else follows the configured sampler (standard names and ``OTEL_TRACES_SAMPLER_ARG``):

* ``parentbased_always_on`` (the default): every trace;
* ``parentbased_traceidratio`` with ARG r (0..1): a new trace is kept with probability r,
  decided from its trace id; spans under a parent (the same process or a Dramatiq message's
  ``traceparent``) follow the parent, so a trace is kept or dropped whole;
* ``parentbased_always_off``, and ``always_on``, ``always_off``, ``traceidratio`` (no parent
  rule: ``traceidratio`` still keeps whole traces, as every span of a trace has its id).
"""

from __future__ import annotations

from typing import Iterable, Mapping

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind

SAMPLER_ENV = "OTEL_TRACES_SAMPLER"
SAMPLER_ARG_ENV = "OTEL_TRACES_SAMPLER_ARG"
DEFAULT_SAMPLER = "parentbased_always_on"
# What psycopg names the span of a statement without a verb when the database is unknown.
PSYCOPG_FALLBACK_NAME = "postgresql"

_DROP = SamplingResult(Decision.DROP)


class SamplerConfigError(ValueError):
    """OTEL_TRACES_SAMPLER names no supported sampler, or its ARG is not a ratio in [0, 1]."""


def configured_sampler(environ: Mapping[str, str]) -> Sampler:
    """The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG ask for (default parentbased_always_on).

    Parameters:
      environ(Mapping): Where to read the two variables (the process environment in production).

    Raises ``SamplerConfigError`` for an unknown name or a ratio outside [0, 1]: a typo must
    not silently mean "sample everything" or "nothing".
    """
    name = (environ.get(SAMPLER_ENV) or DEFAULT_SAMPLER).strip().lower()
    base: Sampler
    if name in ("always_on", "parentbased_always_on"):
        base = ALWAYS_ON
    elif name in ("always_off", "parentbased_always_off"):
        base = ALWAYS_OFF
    elif name in ("traceidratio", "parentbased_traceidratio"):
        base = TraceIdRatioBased(sampling_ratio(environ.get(SAMPLER_ARG_ENV)))
    else:
        raise SamplerConfigError(
            f"{SAMPLER_ENV}={name!r} is not supported; use parentbased_always_on, parentbased_traceidratio, "
            "parentbased_always_off, always_on, always_off or traceidratio"
        )
    return ParentBased(root=base) if name.startswith("parentbased_") else base


def sampling_ratio(raw: str | None) -> float:
    """OTEL_TRACES_SAMPLER_ARG as a ratio; unset or empty means 1.0 (the OpenTelemetry default)."""
    if raw is None or not raw.strip():
        return 1.0
    try:
        ratio = float(raw)
    except ValueError:
        raise SamplerConfigError(f"{SAMPLER_ARG_ENV}={raw!r} is not a number between 0 and 1") from None
    if not 0.0 <= ratio <= 1.0:
        raise SamplerConfigError(f"{SAMPLER_ARG_ENV}={raw!r} is not between 0 and 1")
    return ratio


def follows_sampled_local_parents(sampler: Sampler) -> bool:
    """True when ``sampler`` keeps every span whose parent is a sampled span of this process,
    whatever its name, kind or attributes, handing back the span's own attributes and the
    parent's trace state: ``always_on``, and every ``parentbased_*`` sampler built here (the
    SDK's rule for such a parent is ``always_on`` unless set otherwise).

    ``start_lean_spans`` then knows the answer without asking the sampler, several calls per
    span. Anything else (a ratio without a parent rule, a sampler of a test) is asked.
    """
    if sampler is ALWAYS_ON:
        return True
    # the SDK keeps ParentBased's rules in private fields; if that changes, lean spans ask
    return isinstance(sampler, ParentBased) and getattr(sampler, "_local_parent_sampled", None) is ALWAYS_ON


class QuietSampler(Sampler):
    """Drops spans that carry no information, then lets ``base`` decide.

    Parameters:
      base(Sampler): The configured sampler (``configured_sampler``).
      database_names(Iterable[str]): Names of the databases the process talks to; a CLIENT
        span with exactly that name is psycopg's span of an empty statement (pool check).
    """

    def __init__(self, *, base: Sampler, database_names: Iterable[str] = ()) -> None:
        self.base = base
        self.quiet_names = frozenset(n for n in database_names if n) | {PSYCOPG_FALLBACK_NAME}
        # INTERNAL spans under a sampled parent of this process are all kept (lean spans skip asking)
        self.follows_sampled_local_parents = follows_sampled_local_parents(base)

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        if kind == SpanKind.CLIENT:
            if name in self.quiet_names:
                return _DROP
            if not trace.get_current_span(parent_context).get_span_context().is_valid:
                return _DROP  # a client call outside any traced work
        return self.base.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"QuietSampler{{{self.base.get_description()}}}"
