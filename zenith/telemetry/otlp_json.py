"""OTLP/HTTP with the JSON encoding: the parsing worker's spans, encoded at half the protobuf cost.

The SDK's OTLP/HTTP exporter builds a protobuf message object per span, attribute and
value in Python before serialising them: about 27 us a span, the largest single cost of
tracing the parsing pipeline (benchmarks/pipeline_vs_celery.py, docs/benchmarks.md).
This encoder writes the same ``ExportTraceServiceRequest`` in the OTLP JSON encoding
(plain dicts, then orjson in C), which Jaeger's and the Collector's OTLP/HTTP receivers
take on the same ``/v1/traces`` path as ``application/json``.

The OTLP JSON encoding is protobuf's JSON mapping with OTLP's own rules: trace and span
ids are hex (not base64), enum values are numbers, 64-bit integers are strings.
``tests/telemetry/test_otlp_json.py`` checks that what it writes parses back into the
very message the SDK's protobuf encoder builds from the same spans (plus a link's trace
state, which OTLP has a field for and the SDK's encoder leaves out).

``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` (or ``OTEL_EXPORTER_OTLP_PROTOCOL``) set to
``http/protobuf`` brings the SDK's encoder back, for a receiver that takes only protobuf.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

logger = logging.getLogger(__name__)

JSON_PROTOCOL = "http/json"
PROTOBUF_PROTOCOL = "http/protobuf"
PROTOCOLS = (JSON_PROTOCOL, PROTOBUF_PROTOCOL)

# Span.SpanKind in OTLP: the API's INTERNAL..CONSUMER are 0..4, OTLP's 1..5 (0 is "unspecified")
_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
# keyed by the member's identity: hashing an Enum member is a Python call (Enum.__hash__)
_KIND_BY_ID = {id(kind): value for kind, value in _KIND.items()}
# SpanFlags: whether the parent (or a link's context) is remote is known, and whether it is
_HAS_IS_REMOTE = 0x100
# protobuf's JSON mapping writes doubles that JSON has no number for as these strings
_NO_STATUS: dict[str, Any] = {}  # present, as the SDK's encoder writes it: code UNSET, no message
_NOT_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_IS_REMOTE = 0x200

# Encoded string attributes, keyed by (key, value): span names' fixed attributes
# ("zenith.platform": "youtube", "messaging.system": "dramatiq") repeat on every span.
_CACHE_LIMIT = 4096
_string_attributes: dict[tuple[str, str], dict[str, Any]] = {}


class ProtocolError(ValueError):
    """OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL names a protocol this exporter does not speak."""


def traces_protocol(environ: Mapping[str, str]) -> str:
    """The OTLP protocol to export traces with: the standard variables, default ``http/json``.

    ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` wins over ``OTEL_EXPORTER_OTLP_PROTOCOL``. Only the
    HTTP protocols are spoken (the endpoint is OTLP/HTTP's :4318); ``grpc`` is refused.
    """
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        raw = (environ.get(name) or "").strip().lower()
        if raw:
            if raw not in PROTOCOLS:
                raise ProtocolError(f"{name}={raw!r}: traces are exported over {' or '.join(PROTOCOLS)}")
            return raw
    return JSON_PROTOCOL


def _value(value: Any) -> dict[str, Any]:
    """An attribute value as OTLP's AnyValue."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)}  # int64: a string in protobuf's JSON mapping
    if kind is float:
        return {"doubleValue": value if math.isfinite(value) else _NOT_FINITE[str(value)]}
    return _other_value(value)


def _other_value(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, str):
        return {"stringValue": str(value)}
    if isinstance(value, int):
        return {"intValue": str(int(value))}
    if isinstance(value, float):
        return _value(float(value))
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_value(item) for item in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": [{"key": str(k), "value": _value(v)} for k, v in value.items()]}}
    raise TypeError(f"attribute value of type {type(value).__name__} cannot be exported: {value!r}")


def _attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    encoded = []
    cache = _string_attributes
    for key, value in attributes.items():
        kind = type(value)  # the common types inline: this runs for every attribute of every span
        if kind is str:
            item = cache.get((key, value))
            if item is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()  # ids or texts as values: let them go, keep the cache small
                item = cache[(key, value)] = {"key": key, "value": {"stringValue": value}}
            encoded.append(item)
        elif kind is int:
            encoded.append({"key": key, "value": {"intValue": str(value)}})
        elif kind is bool:
            encoded.append({"key": key, "value": {"boolValue": value}})
        else:
            encoded.append({"key": key, "value": _value(value)})
    return encoded


def _flags(context: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if context is not None and context.is_remote else _HAS_IS_REMOTE


def _span(span: ReadableSpan) -> dict[str, Any]:
    # a SpanContext is a tuple: one unpacking instead of a property call per field
    trace_id, span_id, _, _, trace_state, _ = span.context  # type: ignore[misc]
    parent = span.parent
    encoded: dict[str, Any] = {
        "traceId": f"{trace_id:032x}",
        "spanId": f"{span_id:016x}",
        "name": span.name,
        "kind": _KIND_BY_ID[id(span.kind)],
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
    }
    if parent is not None:
        _, parent_span_id, parent_is_remote, _, _, _ = parent
        encoded["parentSpanId"] = f"{parent_span_id:016x}"
        encoded["flags"] = _HAS_IS_REMOTE | _IS_REMOTE if parent_is_remote else _HAS_IS_REMOTE
    else:
        encoded["flags"] = _HAS_IS_REMOTE
    if trace_state is not DEFAULT_TRACE_STATE and trace_state:  # the default without TraceState.__len__
        encoded["traceState"] = ",".join(f"{key}={value}" for key, value in trace_state.items())
    attributes, events, links = span.attributes, span.events, span.links  # each property copies
    if attributes:
        encoded["attributes"] = _attributes(attributes)
    if events:
        encoded["events"] = [_event(event) for event in events]
    if links:
        encoded["links"] = [_link(link) for link in links]
    status = span.status
    if status.status_code is StatusCode.UNSET and not status.description:
        encoded["status"] = _NO_STATUS
    else:
        encoded["status"] = {"code": status.status_code.value, "message": status.description or ""}
    if span.dropped_attributes:
        encoded["droppedAttributesCount"] = span.dropped_attributes
    if span.dropped_events:
        encoded["droppedEventsCount"] = span.dropped_events
    if span.dropped_links:
        encoded["droppedLinksCount"] = span.dropped_links
    return encoded


def _event(event) -> dict[str, Any]:
    encoded: dict[str, Any] = {"name": event.name, "timeUnixNano": str(event.timestamp)}
    if event.attributes:
        encoded["attributes"] = _attributes(event.attributes)
    if event.dropped_attributes:
        encoded["droppedAttributesCount"] = event.dropped_attributes
    return encoded


def _link(link) -> dict[str, Any]:
    context = link.context
    encoded: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "flags": _flags(context),
    }
    if context.trace_state:
        encoded["traceState"] = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    if link.attributes:
        encoded["attributes"] = _attributes(link.attributes)
    if link.dropped_attributes:
        encoded["droppedAttributesCount"] = link.dropped_attributes
    return encoded


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """An ``ExportTraceServiceRequest`` in the OTLP JSON encoding: spans grouped by resource, then scope.

    Each span is written to bytes as soon as its dict is built, and the dict dropped: a
    batch of 2,048 spans built as one document first held some 20,000 dicts and lists at
    once, enough to set off Python's collector twice per export (``settle_heap``'s young
    threshold is 10,000), each time walking them all.
    """
    by_resource: dict[Any, dict[Any, list[bytes]]] = {}
    # the spans of one tracer share its resource and scope objects: found by identity first,
    # as hashing them is a Python call each (equal objects still share one group)
    by_identity: dict[tuple[int, int], list[bytes]] = {}
    dumps = orjson.dumps
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        encoded = by_identity.get((id(resource), id(scope)))
        if encoded is None:
            scopes = by_resource.get(resource)
            if scopes is None:
                scopes = by_resource[resource] = {}
            encoded = scopes.get(scope)
            if encoded is None:
                encoded = scopes[scope] = []
            by_identity[id(resource), id(scope)] = encoded  # the spans keep both alive: ids stay theirs
        encoded.append(dumps(_span(span)))
    resource_spans = []
    for resource, scopes in by_resource.items():
        scope_spans = []
        for scope, encoded in scopes.items():
            entry: dict[str, Any] = {"scope": _scope(scope)}
            if scope is not None and scope.schema_url:
                entry["schemaUrl"] = scope.schema_url
            scope_spans.append(_with_list(entry, "spans", encoded))
        item: dict[str, Any] = {"resource": {"attributes": _attributes(resource.attributes)}}
        if resource.schema_url:
            item["schemaUrl"] = resource.schema_url
        resource_spans.append(_with_list(item, "scopeSpans", scope_spans))
    return b'{"resourceSpans":[' + b",".join(resource_spans) + b"]}"


def _with_list(fields: dict[str, Any], key: str, encoded: list[bytes]) -> bytes:
    """``fields`` as a JSON object with one more member: ``key``, the array of ``encoded`` items."""
    head = orjson.dumps(fields)  # never empty: each caller's dict has a first member
    return head[:-1] + b',"' + key.encode() + b'":[' + b",".join(encoded) + b"]}"


def _scope(scope) -> dict[str, Any]:
    if scope is None:
        return {}
    encoded: dict[str, Any] = {"name": scope.name}
    if scope.version:
        encoded["version"] = scope.version
    if scope.attributes:
        encoded["attributes"] = _attributes(scope.attributes)
    return encoded


class OtlpJsonSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/HTTP exporter (endpoint, headers, timeout, retries with backoff, TLS
    and OTEL_EXPORTER_OTLP_* variables) sending ``encode_spans``' JSON instead of protobuf."""

    def __init__(self, endpoint: str | None = None, *, headers: Mapping[str, str] | None = None, **options) -> None:
        super().__init__(endpoint=endpoint, headers={**(headers or {}), "Content-Type": "application/json"}, **options)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # the SDK's export(), with our encoder: the SDK exporter's own attributes are pinned
        # with the SDK's version in pyproject.toml, and tests/telemetry/test_otlp_json.py sends
        # through a real receiver
        if self._shutdown:
            logger.warning("span exporter already shut down: %d spans not sent", len(spans))
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(len(spans)) as result:
            try:
                body = encode_spans(spans)
            except Exception as error:  # a span this encoder cannot write: a bug to fix, spans lost
                logger.error("spans not exported, could not encode them: %s: %s", type(error).__name__, error)
                result.error = error
                return SpanExportResult.FAILURE
            if 0 < self._max_request_size < len(body):
                logger.warning(
                    "%d spans not exported: %d bytes exceed the %d-byte request limit",
                    len(spans),
                    len(body),
                    self._max_request_size,
                )
                return SpanExportResult.FAILURE
            sent = self._client.export(body)
            if not sent.success:
                result.error = sent.error
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
