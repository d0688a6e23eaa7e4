"""The OTLP/JSON encoder writes what the SDK's protobuf encoder writes, and its exporter
speaks OTLP/HTTP to a real receiver."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from tests.telemetry.otlp_bodies import JSON, parse_json_request
from zenith.telemetry.otlp_json import OtlpJsonSpanExporter, ProtocolError, encode_spans, traces_protocol
from zenith.telemetry.tracing import TracingSetupError, otlp_exporter

REMOTE_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _provider(exporter, **resource) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "zenith-test", **resource}, schema_url="https://example/s/1"),
        span_limits=SpanLimits(max_attributes=8, max_events=2, max_links=2),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _varied_spans():
    """Spans with every feature the encoder writes: each attribute type, events, links,
    statuses, remote and local parents, dropped counts, two resources and three scopes."""
    exporter = InMemorySpanExporter()
    worker, bot = _provider(exporter, **{"process.pid": 7}), _provider(exporter, **{"service.namespace": "z"})
    zenith = worker.get_tracer("zenith", "1.2.3", schema_url="https://example/scope/1", attributes={"a": "b"})
    library = worker.get_tracer("opentelemetry.instrumentation.psycopg")
    linked = SpanContext(
        trace_id=0x1F, span_id=0x2E, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v")])
    )
    remote = propagate.extract({"traceparent": REMOTE_PARENT})
    with zenith.start_as_current_span(
        "process parsing",
        context=remote,
        kind=SpanKind.CONSUMER,
        links=[Link(linked, {"zenith.reason": "batch"}), Link(linked), Link(linked)],  # one dropped
    ) as root:
        root.set_attributes(
            {
                "text": "youtube",
                "empty": "",
                "unicode": 'Привет, "мир" \\ \n',
                "int": 12345678901234567,
                "negative": -3,
                "flag": True,
                "off": False,
                "float": 0.25,
                "infinity": math.inf,  # dropped: over max_attributes=8
            }
        )
        root.add_event("retry", {"attempt": 2, "codes": [500, 503]})
        root.add_event("plain")
        root.add_event("third")  # dropped: over max_events=2
        with zenith.start_as_current_span("check video", attributes={"zenith.video_id": 7}) as child:
            child.set_attribute("strings", ["a", "b"])
            child.set_attribute("bools", [True, False])
            child.set_attribute("floats", [1.5, -math.inf])
            child.set_status(Status(StatusCode.ERROR, "platform said no"))
            child.record_exception(ValueError("garbage"))
        with library.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as statement:
            statement.set_status(Status(StatusCode.OK))
    with bot.get_tracer("zenith").start_as_current_span("telegram update", kind=SpanKind.SERVER):
        pass
    with worker.get_tracer("zenith").start_as_current_span("send notifications", kind=SpanKind.PRODUCER):
        pass
    return exporter.get_finished_spans()


def _assert_as_the_sdk_encodes(parsed, spans) -> None:
    # one addition: a link's trace state, which OTLP has a field for and the SDK's encoder leaves out
    links = [link for r in parsed.resource_spans for s in r.scope_spans for span in s.spans for link in span.links]
    assert [link.trace_state for link in links] == ["k=v", "k=v"]
    for link in links:
        link.ClearField("trace_state")
    assert parsed == sdk_encode_spans(spans)


def test_json_parses_into_the_message_the_sdk_encoder_builds():
    spans = _varied_spans()
    assert any(span.dropped_attributes for span in spans) and any(span.dropped_events for span in spans)
    assert any(span.dropped_links for span in spans) and any(span.parent and span.parent.is_remote for span in spans)

    ours = parse_json_request(encode_spans(spans))

    _assert_as_the_sdk_encodes(ours, spans)
    assert len(ours.resource_spans) == 2 and sum(len(r.scope_spans) for r in ours.resource_spans) == 4


def test_spans_of_equal_resources_and_scopes_are_grouped_together_as_the_sdk_groups_them():
    # two providers with equal resources, their tracers with equal scopes: distinct objects
    exporter = InMemorySpanExporter()
    providers = [_provider(exporter, **{"process.pid": 7}) for _ in range(2)]
    tracers = [providers[0].get_tracer("zenith"), providers[1].get_tracer("zenith")]
    for number, each in enumerate(tracers * 3):
        each.start_span(f"span {number}", kind=SpanKind.CLIENT if number % 2 else SpanKind.SERVER).end()
    spans = exporter.get_finished_spans()
    assert (
        len({id(span.resource) for span in spans}) == 2 and len({id(span.instrumentation_scope) for span in spans}) == 2
    )
    ours = parse_json_request(encode_spans(spans))
    assert ours == sdk_encode_spans(spans)
    assert len(ours.resource_spans) == 1 and len(ours.resource_spans[0].scope_spans) == 1
    assert [span.name for span in ours.resource_spans[0].scope_spans[0].spans] == [f"span {n}" for n in range(6)]


def test_json_follows_otlp_not_plain_protobuf_json():
    """Hex ids, numeric enums, int64 as strings, and non-finite doubles as protobuf's words."""
    spans = _varied_spans()
    document = json.loads(encode_spans(spans))
    first = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    root = next(span for span in first if span["name"] == "process parsing")
    assert root["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736" and root["parentSpanId"] == "00f067aa0ba902b7"
    (root_span,) = [span for span in spans if span.name == "process parsing"]
    assert root["spanId"] == f"{root_span.context.span_id:016x}"
    assert root["kind"] == 5 and root["flags"] == 0x300  # CONSUMER; parent known to be remote
    assert root["links"][0]["traceId"] == f"{0x1F:032x}" and root["links"][0]["traceState"] == "k=v"
    values = {item["key"]: item["value"] for item in root["attributes"]}
    assert values["int"] == {"intValue": "12345678901234567"} and values["flag"] == {"boolValue": True}
    check = next(span for span in first if span["name"] == "check video")
    floats = next(item["value"] for item in check["attributes"] if item["key"] == "floats")
    assert floats == {"arrayValue": {"values": [{"doubleValue": 1.5}, {"doubleValue": "-Infinity"}]}}
    assert check["status"] == {"code": 2, "message": "platform said no"}


def test_a_nan_attribute_is_written_as_protobuf_json_writes_it():
    exporter = InMemorySpanExporter()
    with _provider(exporter).get_tracer("zenith").start_as_current_span("x", attributes={"ratio": math.nan}):
        pass
    parsed = parse_json_request(encode_spans(exporter.get_finished_spans()))
    value = parsed.resource_spans[0].scope_spans[0].spans[0].attributes[0].value
    assert math.isnan(value.double_value)


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver answering with the status the test sets."""

    status = 200
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], body))
        answer = b"{}" if self.status == 200 else b'{"code": 3, "message": "bad request"}'
        self.send_response(self.status)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    server.shutdown()
    server.server_close()


def test_exporter_posts_json_and_reports_a_refusal_and_a_shutdown(receiver):
    spans = _varied_spans()
    exporter = OtlpJsonSpanExporter(endpoint=receiver, headers={"Authorization": "Bearer t"}, timeout=5)

    assert exporter.export(spans) == SpanExportResult.SUCCESS
    ((path, content_type, body),) = _Receiver.received
    assert path == "/v1/traces" and content_type == JSON
    _assert_as_the_sdk_encodes(parse_json_request(body), spans)

    _Receiver.status = 400  # not retryable: refused at once, counted as a failure
    assert exporter.export(spans[:1]) == SpanExportResult.FAILURE
    assert len(_Receiver.received) == 2

    exporter.shutdown()
    assert exporter.export(spans[:1]) == SpanExportResult.FAILURE
    assert len(_Receiver.received) == 2


def test_exporter_refuses_a_request_over_its_size_limit(receiver, caplog):
    exporter = OtlpJsonSpanExporter(endpoint=receiver, timeout=5, max_request_size=100)
    assert exporter.export(_varied_spans()) == SpanExportResult.FAILURE
    assert _Receiver.received == []
    assert "request limit" in caplog.text


def test_protocol_comes_from_the_standard_variables_json_by_default():
    assert traces_protocol({}) == "http/json"
    assert traces_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}) == "http/protobuf"
    both = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": " HTTP/JSON "}
    assert traces_protocol(both) == "http/json"
    with pytest.raises(ProtocolError, match="grpc"):
        traces_protocol({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})

    endpoint = "http://127.0.0.1:9/v1/traces"
    assert type(otlp_exporter(endpoint, {})) is OtlpJsonSpanExporter
    assert type(otlp_exporter(endpoint, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})) is OTLPSpanExporter
    with pytest.raises(TracingSetupError, match="OTEL_EXPORTER_OTLP_PROTOCOL='grpc'"):
        otlp_exporter(endpoint, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
