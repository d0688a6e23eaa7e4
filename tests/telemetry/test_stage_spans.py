"""Stage spans: one span for a stage of the work, no span per SQL statement under it (quiet_statements)."""

from __future__ import annotations

import psycopg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from zenith.telemetry.stages import quiet_statements
from zenith.telemetry.tracing import TracingSetupError, setup_tracing, shutdown_tracing, tracer


@pytest.fixture
def traced(make_settings):
    """Tracing on with psycopg instrumented, into memory; ``traced(environ)`` -> exporter."""

    def start(environ: dict[str, str]) -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        setup_tracing(make_settings(), role="test-stages", exporter=exporter, environ=environ)
        return exporter

    yield start
    shutdown_tracing()


async def _work(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        with tracer().start_as_current_span("process parsing"):
            await conn.execute("SELECT 1")  # outside a stage: its own span
            with tracer().start_as_current_span("check video"), quiet_statements():
                await conn.execute("SELECT 2")
                with tracer().start_as_current_span("ledger.credit"):
                    await conn.execute("SELECT 3")


def _parents(exporter: InMemorySpanExporter) -> dict[str, str | None]:
    spans = exporter.get_finished_spans()
    names = {span.context.span_id: span.name for span in spans}
    return {
        f"{span.name} {span.attributes.get('db.statement', '')}".strip(): names.get(span.parent.span_id)
        if span.parent
        else None
        for span in spans
    }


async def test_statements_under_a_stage_span_get_no_spans_but_our_own_spans_do(traced, database_url):
    exporter = traced({})
    await _work(database_url)
    assert _parents(exporter) == {
        "process parsing": None,
        "SELECT SELECT 1": "process parsing",
        "check video": "process parsing",
        "ledger.credit": "check video",
    }


async def test_statement_spans_setting_keeps_the_statements_under_a_stage(traced, database_url):
    exporter = traced({"OTEL_ZENITH_STATEMENT_SPANS": "true"})
    await _work(database_url)
    parents = _parents(exporter)
    assert parents["SELECT SELECT 2"] == "check video" and parents["SELECT SELECT 3"] == "ledger.credit"


def test_a_statement_spans_setting_that_is_not_a_bool_is_refused(make_settings):
    with pytest.raises(TracingSetupError, match="OTEL_ZENITH_STATEMENT_SPANS"):
        setup_tracing(
            make_settings(),
            role="test-stages",
            exporter=InMemorySpanExporter(),
            environ={"OTEL_ZENITH_STATEMENT_SPANS": "sometimes"},
        )
