"""Read an OTLP/HTTP export request as a receiver does, in either encoding.

OTLP's JSON encoding is protobuf's JSON mapping except that trace and span ids are hex
(protobuf's mapping would have base64): the ids are turned back into base64 before
``json_format.Parse``, which refuses any field or value the message does not have.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(item: dict[str, Any]) -> None:
    for field in _ID_FIELDS:
        if field in item:
            item[field] = base64.b64encode(bytes.fromhex(item[field])).decode()


def parse_json_request(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP JSON body as the message it encodes (hex ids checked by ``bytes.fromhex``)."""
    document = json.loads(body)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _ids_to_base64(span)
                for link in span.get("links", []):
                    _ids_to_base64(link)
    return json_format.Parse(json.dumps(document), ExportTraceServiceRequest())


def parse_request(content_type: str, body: bytes) -> ExportTraceServiceRequest:
    """The export request of a POST to /v1/traces with this Content-Type."""
    if content_type == JSON:
        return parse_json_request(body)
    assert content_type == PROTOBUF, f"not an OTLP/HTTP content type: {content_type!r}"
    return ExportTraceServiceRequest.FromString(body)
