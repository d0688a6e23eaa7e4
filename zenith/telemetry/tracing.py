"""Tracing set-up for one process: resource per role, OTLP/HTTP export, library instrumentation.

Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes an exporter):
then no SDK provider is installed and every span is the OpenTelemetry API's no-op span.
When on, spans go through a BatchSpanProcessor to ``{endpoint}/v1/traces`` (Jaeger
accepts OTLP/HTTP on :4318), JSON-encoded (``zenith.telemetry.otlp_json``), and are
flushed on ``shutdown_tracing()`` and at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from importlib import metadata
from typing import Any, Mapping, Protocol, Sequence, TypedDict

import yarl
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from zenith.config import Settings


class Instrumentor(Protocol):
    """What this module uses of an OpenTelemetry instrumentor (psycopg, redis, aiohttp-client)."""

    @property
    def is_instrumented_by_opentelemetry(self) -> bool: ...
    def instrument(self, **kwargs: Any) -> None: ...
    def uninstrument(self, **kwargs: Any) -> None: ...


logger = logging.getLogger(__name__)

TRACER_NAME = "zenith"
SERVICE_PREFIX = "zenith-"
OTLP_TRACES_PATH = "/v1/traces"


class TracingSetupError(RuntimeError):
    """Tracing was asked for with an unusable role or endpoint."""


# Batch export defaults, sized for the parsing pool: ~16 spans per checked video at a few
# hundred videos/s is several thousand spans a second. The SDK's 2,048-span queue drops
# spans after half a second of a slow collector; 16,384 rides out ~3 s (a few MB of
# memory). Bigger batches mean fewer export requests. Each OTEL_BSP_* variable overrides.
BSP_DEFAULTS = {
    "OTEL_BSP_MAX_QUEUE_SIZE": 16_384,
    "OTEL_BSP_SCHEDULE_DELAY": 2_000,  # ms between exports when the queue is not filling a batch
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 2_048,
    "OTEL_BSP_EXPORT_TIMEOUT": 30_000,  # ms
}


class BatchSettingsError(ValueError):
    """An OTEL_BSP_* variable is not a positive integer, or the batch exceeds the queue."""


class BatchOptions(TypedDict):
    """``BatchSpanProcessor``'s keyword arguments."""

    max_queue_size: int
    schedule_delay_millis: int
    max_export_batch_size: int
    export_timeout_millis: int


def batch_processor_options(environ: Mapping[str, str]) -> BatchOptions:
    """Keyword arguments for ``BatchSpanProcessor``: ``BSP_DEFAULTS``, each overridden by its OTEL_BSP_* variable.

    Parameters:
      environ(Mapping): Where to read the variables (the process environment in production).
    """
    values: dict[str, int] = {}
    for name, default in BSP_DEFAULTS.items():
        raw = (environ.get(name) or "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            raise BatchSettingsError(f"{name}={raw!r} is not an integer") from None
        if value <= 0:
            raise BatchSettingsError(f"{name}={raw!r} must be positive")
        values[name] = value
    if values["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] > values["OTEL_BSP_MAX_QUEUE_SIZE"]:
        raise BatchSettingsError("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE")
    return {
        "max_queue_size": values["OTEL_BSP_MAX_QUEUE_SIZE"],
        "schedule_delay_millis": values["OTEL_BSP_SCHEDULE_DELAY"],
        "max_export_batch_size": values["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
        "export_timeout_millis": values["OTEL_BSP_EXPORT_TIMEOUT"],
    }


class _HashedResource(Resource):
    """A Resource that hashes once: the OTLP encoder groups every exported span by its
    resource, and ``Resource.__hash__`` JSON-encodes all attributes each time."""

    def __init__(self, attributes, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


_lock = threading.Lock()
_provider: TracerProvider | None = None
_instrumentors: list[Instrumentor] = []
# get_tracer builds a new Tracer (and scope) per call; keyed by provider too, so a tracer
# of a replaced provider is never handed out
_tracers: dict[tuple[TracerProvider, str], trace.Tracer] = {}
_atexit_registered = False
# SQL and Redis statements under a stage span get spans of their own (zenith.telemetry.stages)
STATEMENT_SPANS_ENV = "OTEL_ZENITH_STATEMENT_SPANS"
_statement_spans = False


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
    resource = Resource.create(attributes)
    return _HashedResource(resource.attributes, resource.schema_url)


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
    environ: Mapping[str, str] | None = None,
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
      environ(Mapping|None): Where the standard OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
        OTEL_BSP_* and OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL variables, and
        OTEL_ZENITH_STATEMENT_SPANS, are read; default ``os.environ``. See
        ``zenith.telemetry.sampling``, ``BSP_DEFAULTS``, ``otlp_exporter`` and ``zenith.telemetry.stages``.

    Calling it again replaces the previous set-up (the old provider is flushed and shut down).
    """
    global _provider, _atexit_registered, _statement_spans
    endpoint = settings.otel_exporter_otlp_endpoint
    if exporter is None and not endpoint:
        return None
    from zenith.telemetry.sampling import QuietSampler, configured_sampler

    environ = os.environ if environ is None else environ
    resource = build_resource(settings, role=role)
    sampler = QuietSampler(base=configured_sampler(environ), database_names=[database_name(settings.database_url)])
    provider = TracerProvider(resource=resource, sampler=sampler)
    from zenith.telemetry.subject import SubjectAttributesProcessor

    provider.add_span_processor(SubjectAttributesProcessor())  # zenith.video_id etc. on every span of the work
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif endpoint:  # always set here: without an exporter or an endpoint tracing is off
        otlp = otlp_exporter(otlp_traces_endpoint(endpoint), environ)
        provider.add_span_processor(BatchSpanProcessor(otlp, **batch_processor_options(environ)))
    statement_spans = statement_spans_setting(environ)
    shutdown_tracing()
    with _lock:
        _provider = provider
        _statement_spans = statement_spans
        # The global provider can be set once per process; our own code goes through
        # tracer(), which always uses the latest provider.
        if not _global_provider_set():
            trace.set_tracer_provider(provider)
        if not _atexit_registered:
            atexit.register(shutdown_tracing)
            _atexit_registered = True
    if instrument_libraries:
        _instrument(provider)
    logger.info(
        "tracing on",
        extra={
            "service_name": service_name(role),
            "otlp_endpoint": endpoint or "(test exporter)",
            "sampler": sampler.get_description(),
        },
    )
    return provider


def otlp_exporter(endpoint: str, environ: Mapping[str, str]) -> SpanExporter:
    """The OTLP/HTTP exporter for ``endpoint``: JSON-encoded (``zenith.telemetry.otlp_json``, half
    the CPU per span) unless OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL asks for ``http/protobuf``."""
    from zenith.telemetry.otlp_json import PROTOBUF_PROTOCOL, OtlpJsonSpanExporter, ProtocolError, traces_protocol

    try:
        protocol = traces_protocol(environ)
    except ProtocolError as exc:
        raise TracingSetupError(str(exc)) from None
    if protocol == PROTOBUF_PROTOCOL:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint)
    return OtlpJsonSpanExporter(endpoint=endpoint)


def statement_spans_setting(environ: Mapping[str, str]) -> bool:
    """OTEL_ZENITH_STATEMENT_SPANS as a bool (default false); anything but true/false/1/0 is refused."""
    raw = (environ.get(STATEMENT_SPANS_ENV) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise TracingSetupError(f"{STATEMENT_SPANS_ENV}={raw!r} must be true or false")
    return raw in ("true", "1")


def statement_spans_enabled() -> bool:
    """True when statements under a stage span get spans of their own (OTEL_ZENITH_STATEMENT_SPANS)."""
    return _statement_spans


def database_name(url: str | None) -> str:
    """The database of a PostgreSQL URL ("postgresql://u@h/zenith" -> "zenith"); "" when none."""
    if not url:
        return ""
    return yarl.URL(url).path.lstrip("/")


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
    # No sqlcommenter: it would rewrite every statement (and defeat prepared statements).
    options: dict[type[Instrumentor], dict[str, Any]] = {
        PsycopgInstrumentor: {"enable_commenter": False},
        RedisInstrumentor: {},
        AioHttpClientInstrumentor: {"url_filter": span_url},
    }
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
        _tracers.clear()
        instrumentors = list(_instrumentors)
        _instrumentors.clear()
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


def http_client_spans_enabled() -> bool:
    """True when HTTP clients are instrumented (``setup_tracing`` with ``instrument_libraries``):
    the calls that bypass aiohttp then record their spans themselves (``zenith.telemetry.http_spans``)."""
    return bool(_instrumentors)


def tracing_enabled() -> bool:
    """True when ``setup_tracing`` installed a provider in this process."""
    return _provider is not None


def tracer(name: str = TRACER_NAME) -> trace.Tracer:
    """The tracer to start spans with: the installed provider's, else the API's no-op tracer."""
    provider = _provider
    if provider is None:
        return trace.NoOpTracer()
    cached = _tracers.get((provider, name))
    if cached is None:
        cached = _tracers[(provider, name)] = provider.get_tracer(name)
    return cached


def instrumented_libraries() -> Sequence[str]:
    """Class names of the active instrumentors (for status output and tests)."""
    return [type(i).__name__ for i in _instrumentors]
