"""Stage spans: one span for a stage of the work, no span per SQL statement under it (quiet_statements)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from zenith.actors.parsing import video_contexts
from zenith.telemetry.stages import attached, quiet_statements, stage_span
from zenith.telemetry.subject import subject_of
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


async def test_video_contexts_built_once_keep_statements_quiet_at_every_entry(traced, database_url):
    """The parsing actor's per-video contexts: entered several times, each time the video's span
    is current, the video the subject, the statements quiet; left, the message's span is back."""
    exporter = traced({})
    batch = [SimpleNamespace(id=7, platform="youtube"), SimpleNamespace(id=8, platform="tiktok")]
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        with tracer().start_as_current_span("process parsing") as message_span:
            spans = {video.id: tracer().start_span(f"check video {video.id}") for video in batch}
            contexts = video_contexts(spans, cast(list, batch))
            for video_id in (8, 7, 8):
                with attached(contexts[video_id]):
                    assert trace.get_current_span() is spans[video_id]
                    assert subject_of()["zenith.video_id"] == video_id
                    await conn.execute("SELECT 2")
                    with tracer().start_as_current_span(f"ledger.credit {video_id}"):
                        pass
            with pytest.raises(RuntimeError), attached(contexts[7]):
                raise RuntimeError("the video's work failed")
            assert trace.get_current_span() is message_span  # detached on the way out, also after a failure
            await conn.execute("SELECT 1")
            for span in spans.values():
                span.end()
    parents = _parents(exporter)
    assert parents == {
        "process parsing": None,
        "SELECT SELECT 1": "process parsing",
        "check video 7": "process parsing",
        "check video 8": "process parsing",
        "ledger.credit 7": "check video 7",
        "ledger.credit 8": "check video 8",
    }
    credits = [span for span in exporter.get_finished_spans() if span.name == "ledger.credit 8"]
    assert len(credits) == 2  # video 8's context entered twice
    assert all(
        span.attributes["zenith.video_id"] == 8 and span.attributes["zenith.platform"] == "tiktok" for span in credits
    )


async def test_a_stage_span_is_current_inside_quiets_its_statements_and_records_a_failure(traced, database_url):
    exporter = traced({})
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        with tracer().start_as_current_span("process parsing") as message_span:
            with stage_span("store checks", attributes={"zenith.check.batch_size": 2}):
                await conn.execute("SELECT 2")  # quiet
                tracer().start_span("ledger.credit").end()  # our own span: recorded, a child of the stage
            with pytest.raises(psycopg.errors.UndefinedTable), stage_span("load videos", attributes={}):
                await conn.execute("SELECT * FROM no_such_table")
            assert trace.get_current_span() is message_span
    assert _parents(exporter) == {
        "process parsing": None,
        "store checks": "process parsing",
        "ledger.credit": "store checks",
        "load videos": "process parsing",
    }
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["store checks"].attributes == {"zenith.check.batch_size": 2}
    assert spans["store checks"].status.status_code is StatusCode.UNSET
    failed = spans["load videos"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description.startswith('UndefinedTable: relation "no_such_table" does not exist')
    assert [event.name for event in failed.events] == ["exception"]
    assert failed.events[0].attributes["exception.type"] == "psycopg.errors.UndefinedTable"
