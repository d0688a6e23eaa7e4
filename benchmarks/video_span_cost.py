"""CPU per video of the parsing actor's tracing: no tracing, the SDK's spans, lean spans, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/video_span_cost.py [--videos 20000] [--batch 50] [--rounds 5]

Replays, in this process, what the parsing actor does for tracing on a batch message
(``zenith/actors/parsing.py``): a "process parsing" span; a "check video" span per video
(the SDK's ``tracer().start_span`` or, as the actor does, ``start_lean_spans`` for the
batch); each video's context built
once (``video_contexts``); a "store checks" stage span; the check's attributes set on each
video's span; each video's context entered for its log line, its notice (the context
carried into the message, ``carry_context``) and its end. Tracing is set up as
``setup_tracing`` does for a worker (sampler, subject processor, batch processor), with
one difference: the exporter encodes each batch with ``zenith.telemetry.otlp_json`` and
sends nothing (the HTTP request costs the same for both kinds of span). The batch
processor is flushed at the end of each run, so encoding is counted.

Rounds alternate the three modes; prints each run's CPU µs per video, then a ``RESULT``
line with the medians and what tracing adds per video with each kind of span.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from zenith.config import load_settings
from zenith.telemetry import tracing
from zenith.telemetry.attributes import video_attributes
from zenith.telemetry.dramatiq_middleware import carry_context
from zenith.telemetry.lean_spans import start_lean_spans
from zenith.telemetry.otlp_json import encode_spans
from zenith.telemetry.stages import attached, quiet_statements, stage_span
from zenith.telemetry.subject import current_subject, with_subject

MODES = ("off", "sdk", "lean")
# an endpoint is what turns tracing on; nothing is sent to it (see EncodeOnly)
ENDPOINT = "http://127.0.0.1:4318"


class EncodeOnly(SpanExporter):
    """Encodes each batch as the worker's exporter does, and sends nothing."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans)
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


StartSpans = Callable[[str, list[dict[str, int | str]]], list[trace.Span]]


def sdk_spans(name: str, attributes: list[dict[str, int | str]]) -> list[trace.Span]:
    """A span per item of ``attributes``, each from the SDK's tracer."""
    return [tracing.tracer().start_span(name, attributes=each) for each in attributes]


def one_batch(start_video_spans: StartSpans, first_id: int, size: int) -> None:
    """The tracing work of one batch message of ``size`` videos, as the parsing actor does it."""
    with tracing.tracer().start_as_current_span("process parsing"):
        ids = range(first_id, first_id + size)
        started = start_video_spans("check video", [video_attributes(i, "youtube") for i in ids])
        spans = dict(zip(ids, started, strict=True))
        with quiet_statements():
            contexts = {
                i: with_subject(video_attributes(i, "youtube"), trace.set_span_in_context(spans[i])) for i in ids
            }
        with stage_span("store checks", attributes={"zenith.check.batch_size": size}):
            pass  # the actor runs the batch's SQL here; only the span's own cost is measured
        for i in ids:
            spans[i].set_attributes(
                {
                    "zenith.check.batch_size": size,
                    "zenith.views": 1000 + i,
                    "zenith.credited": "1.50",
                    "zenith.check.replay": False,
                }
            )
        for i in ids:
            with attached(contexts[i]):
                pass  # the "video processed" log line reads the context here
        for i in ids:
            with attached(contexts[i]), carry_context():  # the notice carries the video's context
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                current_subject()
        for i in ids:
            with attached(contexts[i]):
                spans[i].end()


def run(mode: str, *, videos: int, batch: int) -> float:
    """CPU µs per video of ``videos`` videos in batches of ``batch``, tracing as ``mode`` says."""
    exporter = EncodeOnly()
    if mode == "off":
        tracing.shutdown_tracing()
        start_video_spans: StartSpans = sdk_spans
    else:
        real = tracing.otlp_exporter
        tracing.otlp_exporter = lambda endpoint, environ: exporter  # type: ignore[assignment]
        try:
            tracing.setup_tracing(
                load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}),
                role="benchmark",
                instrument_libraries=False,
                environ={},
            )
        finally:
            tracing.otlp_exporter = real  # type: ignore[assignment]
        start_video_spans = sdk_spans if mode == "sdk" else start_lean_spans
    one_batch(start_video_spans, 0, batch)  # warm up
    started = time.process_time()
    for first in range(0, videos, batch):
        one_batch(start_video_spans, first + 1, min(batch, videos - first))
    tracing.shutdown_tracing()  # flushes the batch processor: the encoding is counted
    spent = time.process_time() - started
    if mode != "off" and exporter.spans < videos:
        raise SystemExit(f"{mode}: {exporter.spans} spans exported for {videos} videos")
    return spent / videos * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50, help="videos per batch message (the clock sends 50)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_number in range(1, args.rounds + 1):
        for mode in MODES:
            cost = run(mode, videos=args.videos, batch=args.batch)
            results[mode].append(cost)
            print(f"round {round_number}: {mode:4s} {cost:7.1f} us CPU/video", flush=True)
    median = {mode: statistics.median(costs) for mode, costs in results.items()}
    sdk_extra, lean_extra = median["sdk"] - median["off"], median["lean"] - median["off"]
    print(
        f"RESULT video span cost: off {median['off']:.1f} us/video, sdk {median['sdk']:.1f}, lean {median['lean']:.1f}; "
        f"tracing adds {sdk_extra:.1f} us/video with the SDK's spans, {lean_extra:.1f} with lean spans "
        f"({sdk_extra / lean_extra if lean_extra > 0 else float('inf'):.2f}x less)"
    )


if __name__ == "__main__":
    main()
