"""Tracing set-up for one process: resource per role, OTLP/HTTP export, library instrumentation.

Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes an exporter):
then no SDK provider is installed and every span is the OpenTelemetry API's no-op span.
When on, spans go through a BatchSpanProcessor to ``{endpoint}/v1/traces`` (Jaeger
accepts OTLP/HTTP on :4318) and are flushed on ``shutdown_tracing()`` and at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from importlib import metadata
from typing import Sequence

import yarl
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import SpanKind

from zenith.config import Settings

logger = logging.getLogger(__name__)

TRACER_NAME = "zenith"
SERVICE_PREFIX = "zenith-"
OTLP_TRACES_PATH = "/v1/traces"


class TracingSetupError(RuntimeError):
    """Tracing was asked for with an unusable role or endpoint."""


class DropOrphanClientSpans(Sampler):
    """Root sampler that drops CLIENT spans started outside any trace.

    The broker's Redis polling, connection-pool health checks and the like would
    otherwise each become a one-span trace every second. A client call inside a traced
    operation has a parent and is decided by ``ParentBased`` instead.
    """

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "DropOrphanClientSpans"


_lock = threading.Lock()
_provider: TracerProvider | None = None
_instrumentors: list = []
_atexit_registered = False


def service_name(role: str) -> str:
    """``service.name`` of a process role: "bot" -> "zenith-bot"; "zenith-web" stays."""
    role = role.strip()
    if not role:
        raise TracingSetupError("role must name the process, e.g. 'bot' or 'worker-parsing'")
    return role if role.startswith(SERVICE_PREFIX) else SERVICE_PREFIX + role


def build_resource(settings: Settings, *, role: str) -> Resource:
    """Resource attributes: service.name, service.version, process.pid, deployment.environment."""
    try:
        version = metadata.version("zenith")
    except metadata.PackageNotFoundError:
        version = "unknown"
    attributes: dict[str, str | int] = {
        "service.name": service_name(role),
        "service.namespace": "zenith",
        "service.version": version,
        "process.pid": os.getpid(),
    }
    if settings.deployment_environment:
        attributes["deployment.environment"] = settings.deployment_environment
    return Resource.create(attributes)


def otlp_traces_endpoint(base: str) -> str:
    """``http://jaeger:4318`` -> ``http://jaeger:4318/v1/traces`` (a full path is kept)."""
    base = base.rstrip("/")
    return base if base.endswith(OTLP_TRACES_PATH) else base + OTLP_TRACES_PATH


def setup_tracing(
    settings: Settings,
    *,
    role: str,
    exporter: SpanExporter | None = None,
    instrument_libraries: bool = True,
) -> TracerProvider | None:
    """Install tracing for this process; return the provider, or None when tracing is off.

    Parameters:
      settings(Settings): OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on; DEPLOYMENT_ENVIRONMENT
        is added to the resource when set.
      role(str): The process role; ``service.name`` becomes "zenith-{role}" ("bot",
        "worker-parsing", "clock", "web", ...).
      exporter(SpanExporter|None): Export here instead, through a SimpleSpanProcessor
        (tests: ``InMemorySpanExporter``). Turns tracing on without an endpoint.
      instrument_libraries(bool): Instrument psycopg, redis and aiohttp-client. Default True.

    Calling it again replaces the previous set-up (the old provider is flushed and shut down).
    """
    global _provider, _atexit_registered
    endpoint = settings.otel_exporter_otlp_endpoint
    if exporter is None and not endpoint:
        return None
    resource = build_resource(settings, role=role)
    provider = TracerProvider(resource=resource, sampler=ParentBased(root=DropOrphanClientSpans()))
    from zenith.telemetry.subject import SubjectAttributesProcessor

    provider.add_span_processor(SubjectAttributesProcessor())  # zenith.video_id etc. on every span of the work
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_endpoint(endpoint))))
    shutdown_tracing()
    with _lock:
        _provider = provider
        # The global provider can be set once per process; our own code goes through
        # tracer(), which always uses the latest provider.
        if not _global_provider_set():
            trace.set_tracer_provider(provider)
        if not _atexit_registered:
            atexit.register(shutdown_tracing)
            _atexit_registered = True
    if instrument_libraries:
        _instrument(provider)
    logger.info("tracing on", extra={"service_name": service_name(role), "otlp_endpoint": endpoint or "(test exporter)"})
    return provider


def _global_provider_set() -> bool:
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


# "/bot123456:AA.../sendMessage" -> "/bot***/sendMessage": Bot API paths carry the token.
_BOT_TOKEN_PATH = re.compile(r"/bot\d+:[^/]+")


def span_url(url) -> str:
    """The URL put on HTTP client spans: no query string (API keys), no bot token, no credentials.

    The YouTube Data API takes its key as ``?key=``, the Bot API its token in the path
    (``/bot<token>/method``); neither may reach Jaeger.
    """
    parsed = yarl.URL(str(url))
    safe = parsed.with_user(None).with_query(None).with_fragment(None)
    return _BOT_TOKEN_PATH.sub("/bot***", str(safe), count=1)


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # Redis spans carry "COMMAND ? ?" (arguments replaced by the instrumentation) and
    # psycopg spans the SQL text with placeholders, never the parameters.
    options = {PsycopgInstrumentor: {}, RedisInstrumentor: {}, AioHttpClientInstrumentor: {"url_filter": span_url}}
    for instrumentor_class, extra in options.items():
        instrumentor = instrumentor_class()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(tracer_provider=provider, **extra)
        _instrumentors.append(instrumentor)


def shutdown_tracing() -> None:
    """Flush and shut down the provider installed by ``setup_tracing``; safe to call twice."""
    global _provider
    with _lock:
        provider, _provider = _provider, None
        instrumentors = list(_instrumentors)
        _instrumentors.clear()
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


def tracing_enabled() -> bool:
    """True when ``setup_tracing`` installed a provider in this process."""
    return _provider is not None


def tracer(name: str = TRACER_NAME) -> trace.Tracer:
    """The tracer to start spans with: the installed provider's, else the API's no-op tracer."""
    provider = _provider
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(name)


def instrumented_libraries() -> Sequence[str]:
    """Class names of the active instrumentors (for status output and tests)."""
    return [type(i).__name__ for i in _instrumentors]
