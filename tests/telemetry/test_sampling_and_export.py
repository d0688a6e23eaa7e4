"""Head sampling from OTEL_TRACES_SAMPLER, spans that are never recorded, batch export settings."""

from __future__ import annotations

import pytest
import redis as redis_lib
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from zenith.messaging.broker import build_broker
from zenith.telemetry.attributes import current_trace_id_hex
from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware
from zenith.telemetry.sampling import SamplerConfigError, configured_sampler
from zenith.telemetry.tracing import (
    BSP_DEFAULTS,
    BatchSettingsError,
    batch_processor_options,
    database_name,
    setup_tracing,
    shutdown_tracing,
    tracer,
)


@pytest.fixture
def traced(make_settings):
    """Start tracing into memory with ``environ`` as the process environment (libraries instrumented)."""

    def start(environ=None, **settings_env):
        exporter = InMemorySpanExporter()
        setup_tracing(make_settings(**settings_env), role="test-sampling", exporter=exporter, environ=environ or {})
        return exporter

    yield start
    shutdown_tracing()


def test_default_sampler_keeps_every_trace_and_ratio_zero_keeps_none(traced):
    exporter = traced()
    with tracer().start_as_current_span("kept"):
        assert current_trace_id_hex() is not None
    assert [s.name for s in exporter.get_finished_spans()] == ["kept"]

    exporter = traced({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})
    with tracer().start_as_current_span("dropped"):
        with tracer().start_as_current_span("child of a dropped root"):
            # an unexported trace must not be stored as the video's trace: it would be a dead link
            assert current_trace_id_hex() is None
    assert exporter.get_finished_spans() == ()


def test_ratio_sampling_keeps_about_the_ratio_of_roots_and_whole_traces(traced):
    exporter = traced({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"})
    for _ in range(400):
        with tracer().start_as_current_span("root"):
            with tracer().start_as_current_span("child"):
                pass
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "root"]
    assert 50 <= len(roots) <= 150  # 100 expected
    kept_traces = {s.context.trace_id for s in roots}
    assert {s.context.trace_id for s in spans if s.name == "child"} == kept_traces


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "ten percent"},
    ],
)
def test_a_bad_sampler_setting_is_an_error_not_a_silent_default(environ):
    with pytest.raises(SamplerConfigError):
        configured_sampler(environ)


def test_orphan_client_spans_and_empty_statements_are_not_recorded(traced):
    exporter = traced(DATABASE_URL="postgresql://postgres@127.0.0.1/zenith_probe")
    with tracer().start_as_current_span("orphan", kind=SpanKind.CLIENT):
        pass
    with tracer().start_as_current_span("work"):
        with tracer().start_as_current_span(
            "zenith_probe", kind=SpanKind.CLIENT
        ):  # psycopg's name for conn.execute("")
            pass
        with tracer().start_as_current_span("SELECT", kind=SpanKind.CLIENT):
            pass
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["SELECT", "work"]
    assert database_name("postgresql://u:p@host:5432/zenith?sslmode=require") == "zenith"
    assert database_name(None) == ""


def test_the_brokers_redis_commands_are_not_traced_but_the_send_and_the_actors_redis_calls_are(
    traced, make_settings, redis_url, namespace
):
    exporter = traced()
    broker = build_broker(make_settings(), redis_url=redis_url, namespace=namespace)
    install_telemetry_middleware(broker, metrics=False)
    client = redis_lib.Redis.from_url(redis_url)
    try:
        import dramatiq

        actor = dramatiq.actor(lambda: None, broker=broker, queue_name="probe", actor_name="probe")
        with tracer().start_as_current_span("work"):
            actor.send()
            client.set(f"{namespace}:probe", "1", ex=10)
        names = sorted(s.name for s in exporter.get_finished_spans())
        assert names == ["SET", "send probe", "work"], names
    finally:
        for key in client.scan_iter(match=f"{namespace}:*"):
            client.delete(key)
        client.close()
        broker.close()


def test_batch_export_defaults_and_the_standard_variables_override_them():
    assert batch_processor_options({}) == {
        "max_queue_size": BSP_DEFAULTS["OTEL_BSP_MAX_QUEUE_SIZE"],
        "schedule_delay_millis": BSP_DEFAULTS["OTEL_BSP_SCHEDULE_DELAY"],
        "max_export_batch_size": BSP_DEFAULTS["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
        "export_timeout_millis": BSP_DEFAULTS["OTEL_BSP_EXPORT_TIMEOUT"],
    }
    assert BSP_DEFAULTS["OTEL_BSP_MAX_QUEUE_SIZE"] > 2048  # the SDK's default drops spans at ~16 per video
    options = batch_processor_options(
        {"OTEL_BSP_MAX_QUEUE_SIZE": "4096", "OTEL_BSP_SCHEDULE_DELAY": "500", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "256"}
    )
    assert (options["max_queue_size"], options["schedule_delay_millis"], options["max_export_batch_size"]) == (
        4096,
        500,
        256,
    )
    for bad in (
        {"OTEL_BSP_MAX_QUEUE_SIZE": "lots"},
        {"OTEL_BSP_SCHEDULE_DELAY": "0"},
        {"OTEL_BSP_MAX_QUEUE_SIZE": "100"},
    ):
        with pytest.raises(BatchSettingsError):
            batch_processor_options(bad)


def test_tracer_is_reused_until_the_provider_changes(traced):
    traced()
    first = tracer()
    assert tracer() is first
    traced()
    assert tracer() is not first
