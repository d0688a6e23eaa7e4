"""Spans of a real worker process reach an OTLP/HTTP receiver, in the sender's trace."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import dramatiq
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.telemetry.otlp_bodies import parse_request
from zenith.telemetry.tracing import tracer

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = Path(__file__).with_name("otlp_worker.py")


def _attributes(key_values) -> dict:
    values = {}
    for kv in key_values:
        kind = kv.value.WhichOneof("value")
        values[kv.key] = getattr(kv.value, kind) if kind else None
    return values


@pytest.mark.parametrize(
    "protocol, content_type",
    [(None, "application/json"), ("http/protobuf", "application/x-protobuf")],
    ids=["default-json", "protobuf"],
)
async def test_worker_process_exports_spans_with_resource_and_parent(
    protocol, content_type, traced_broker, namespace, redis_url, span_exporter, aiohttp_client_factory
):
    requests: list[ExportTraceServiceRequest] = []
    content_types: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        content_types.append(request.content_type)
        requests.append(parse_request(request.content_type, await request.read()))
        if request.content_type == "application/json":
            return web.json_response({})
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    app = web.Application()
    app.router.add_post("/v1/traces", receive)
    async with aiohttp_client_factory(app) as (_, base_url):
        message = dramatiq.Message(queue_name="qt", actor_name="traced_job", args=(42,), kwargs={}, options={})
        with tracer().start_as_current_span("test root") as root:
            sent = traced_broker.enqueue(message)
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "PYTHONPATH": str(REPO_ROOT),
            "REDIS_URL": redis_url,
            "TEST_NAMESPACE": namespace,
            "TEST_QUEUE": "qt",
            "OTEL_EXPORTER_OTLP_ENDPOINT": base_url,
            **({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": protocol} if protocol else {}),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER_SCRIPT),
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()[-2000:]

    spans = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                spans.extend((resource, span) for span in scope_spans.spans)
    assert spans, "no spans arrived"
    assert set(content_types) == {content_type}
    root_trace = root.get_span_context().trace_id.to_bytes(16, "big")
    # Only the message's trace: the broker's own Redis polling is not exported as orphan traces.
    assert {span.trace_id for _, span in spans} == {root_trace}
    (resource, process_span) = next((r, s) for r, s in spans if s.name == "process qt")
    assert resource["service.name"] == "zenith-worker-test"
    assert resource["process.pid"] > 0 and resource["service.version"]
    (send_span,) = [s for s in span_exporter.get_finished_spans() if s.name == "send qt"]
    assert process_span.parent_span_id == send_span.context.span_id.to_bytes(8, "big")
    attributes = _attributes(process_span.attributes)
    assert attributes["messaging.system"] == "dramatiq"
    assert attributes["messaging.destination.name"] == "qt"
    assert attributes["messaging.message.id"] == sent.message_id
    assert attributes["zenith.video_id"] == 42 and attributes["zenith.platform"] == "youtube"
    assert process_span.kind == process_span.SPAN_KIND_CONSUMER
