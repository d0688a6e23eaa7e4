"""CPU per span of the OTLP encoders: the SDK's protobuf against ours (OTLP JSON), in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/otlp_encoding.py [--spans 2048] [--rounds 5]

The spans are the parsing worker's: a "check video" span per video, with the attributes
the actor and the subject processor put on it, under one "process parsing" span, ended
and read back as the batch exporter hands them over (``max_export_batch_size`` 2,048 by
default), with the resource hashed once as ``setup_tracing`` builds it. Each round encodes
the same batch with each encoder in turn; prints the median CPU µs per span and bytes per
span of each, then a ``RESULT`` line with the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as protobuf_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from zenith.config import load_settings
from zenith.telemetry.attributes import video_attributes
from zenith.telemetry.otlp_json import encode_spans as json_spans
from zenith.telemetry.tracing import build_resource


def worker_spans(count: int) -> list[ReadableSpan]:
    """``count`` "check video" spans (the parent "process parsing" is left out of the batch)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=build_resource(load_settings({}), role="worker-parsing"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("zenith")
    attributes = {"messaging.system": "dramatiq", "messaging.destination.name": "parsing"}
    with tracer.start_as_current_span("process parsing", kind=SpanKind.CONSUMER, attributes=attributes):
        for video_id in range(1, count + 1):
            span = tracer.start_span("check video", attributes=video_attributes(video_id, "youtube"))
            span.set_attributes(
                {
                    "zenith.check.batch_size": 50,
                    "zenith.views": 10_000 + video_id * 7,
                    "zenith.credited": f"{video_id % 97 / 10:.2f}",
                    "zenith.check.replay": False,
                }
            )
            span.end()
    return [span for span in exporter.get_finished_spans() if span.name == "check video"]


def measure(encode, spans: list[ReadableSpan]) -> tuple[float, int]:
    """CPU µs per span of one encoding of the batch, and its bytes."""
    started = time.process_time()
    body = encode(spans)
    return (time.process_time() - started) / len(spans) * 1e6, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=2048, help="spans per batch (the exporter's batch size)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    spans = worker_spans(args.spans)
    encoders = {
        "protobuf (SDK)": lambda batch: protobuf_spans(batch).SerializePartialToString(),
        "json (ours)": json_spans,
    }
    for encode in encoders.values():
        encode(spans)  # warm up: imports, caches
    figures: dict[str, list[float]] = {name: [] for name in encoders}
    sizes: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, encode in encoders.items():
            cpu, size = measure(encode, spans)
            figures[name].append(cpu)
            sizes[name] = size
    print(f"{len(spans)} check-video spans per batch, {args.rounds} rounds")
    for name, values in figures.items():
        print(
            f"{name:16} {statistics.median(values):7.2f} us CPU/span (min {min(values):.2f}) "
            f"| {sizes[name] / len(spans):6.1f} bytes/span"
        )
    protobuf, ours = (statistics.median(values) for values in figures.values())
    print(
        f"RESULT otlp encoding: protobuf {protobuf:.2f} us/span, json {ours:.2f} us/span, protobuf/json {protobuf / ours:.2f}x"
    )


if __name__ == "__main__":
    main()
