"""Lean spans: sampled, processed and exported as the SDK's spans are, built at a fraction of their cost."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Status, StatusCode

from tests.telemetry.otlp_bodies import parse_json_request
from zenith.domain.links import Platform
from zenith.telemetry.lean_spans import (
    MAX_ATTRIBUTES,
    SUBJECT_HOOK,
    LeanSpan,
    _does_nothing,
    _hooks,
    start_lean_span,
    start_lean_spans,
)
from zenith.telemetry.otlp_json import encode_spans
from zenith.telemetry.stages import attached
from zenith.telemetry.subject import with_subject
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing, tracer

SAMPLED_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
UNSAMPLED_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"


@pytest.fixture
def traced(make_settings):
    """``traced(environ)``: tracing on into memory, the sampler read from ``environ``."""

    def start(environ: dict[str, str] | None = None) -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        setup_tracing(
            make_settings(), role="test-lean", exporter=exporter, instrument_libraries=False, environ=environ or {}
        )
        return exporter

    yield start
    shutdown_tracing()


def _both(span_kind: str) -> trace.Span:
    attributes = {"zenith.video_id": 7, "zenith.platform": "youtube"}
    if span_kind == "lean":
        return start_lean_span("check video", attributes=attributes)
    return tracer().start_span("check video", attributes=attributes)


def _filled(span: trace.Span) -> None:
    span.set_attributes({"zenith.views": 1200, "zenith.credited": "1.50", "zenith.check.replay": False})
    span.set_attribute("zenith.ratio", 0.25)
    span.set_attribute("zenith.codes", [500, 503])
    span.set_status(Status(StatusCode.ERROR, "platform said no"))
    span.record_exception(ValueError("garbage"), timestamp=1)
    span.end()


def _without_ids_and_times(request):
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                span.ClearField("span_id")
                span.ClearField("start_time_unix_nano")
                span.ClearField("end_time_unix_nano")
                for event in span.events:
                    for attribute in event.attributes:
                        if attribute.key == "exception.stacktrace":
                            attribute.value.string_value = ""
    return request


def test_a_lean_span_is_exported_as_the_sdks_span_with_the_same_data(traced):
    exporter = traced()
    with tracer().start_as_current_span("process parsing"):
        with attached(with_subject({"zenith.video_id": 7, "zenith.platform": "youtube"})):
            sdk_span, lean_span = _both("sdk"), _both("lean")
        for span in (sdk_span, lean_span):
            _filled(span)
    sdk_done, lean_done, process = sorted(
        exporter.get_finished_spans(), key=lambda s: (s.name, isinstance(s, LeanSpan))
    )
    assert isinstance(lean_done, LeanSpan) and not isinstance(sdk_done, LeanSpan)
    assert lean_done.parent == sdk_done.parent == process.context
    assert lean_done.context.trace_id == process.context.trace_id
    assert lean_done.context.span_id not in (0, sdk_done.context.span_id)
    assert lean_done.start_time <= lean_done.end_time

    # the SDK's own protobuf encoder and ours read the same span out of both
    assert _without_ids_and_times(sdk_encode_spans([lean_done])) == _without_ids_and_times(sdk_encode_spans([sdk_done]))
    assert parse_json_request(encode_spans([lean_done])) == sdk_encode_spans([lean_done])


def test_a_lean_span_carries_its_context_to_what_runs_under_it_and_to_messages(traced):
    exporter = traced()
    with tracer().start_as_current_span("process parsing"):
        span = start_lean_span("check video", attributes={"zenith.video_id": 7})
        sdk_span = tracer().start_span("check video")
    carriers = []
    for each in (span, sdk_span):
        with attached(trace.set_span_in_context(each)):
            if each is span:
                tracer().start_span("ledger.credit").end()  # a child of the current (lean) span
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            carriers.append(carrier["traceparent"])
        each.end()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["ledger.credit"].parent.span_id == span.get_span_context().span_id
    context = span.get_span_context()
    lean_carrier, sdk_carrier = carriers
    assert lean_carrier.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    # the same trace flags as the SDK's span (sampled, and W3C's random trace id bit)
    assert lean_carrier.rsplit("-", 1)[1] == sdk_carrier.rsplit("-", 1)[1] == f"{context.trace_flags:02x}"
    assert context.trace_flags == sdk_span.get_span_context().trace_flags


def test_the_sampler_decides_as_for_any_span(traced):
    exporter = traced({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})
    root = start_lean_span("check video")  # a new trace at ratio 0: dropped
    with attached(propagate.extract({"traceparent": SAMPLED_PARENT})):
        kept = start_lean_span("check video")
    with attached(propagate.extract({"traceparent": UNSAMPLED_PARENT})):
        dropped = start_lean_span("check video")
    assert not root.is_recording() and kept.is_recording() and not dropped.is_recording()
    for span in (root, kept, dropped):
        span.end()
    assert dropped.get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert not dropped.get_span_context().trace_flags.sampled
    assert [s.name for s in exporter.get_finished_spans()] == ["check video"]
    assert exporter.get_finished_spans()[0].parent.span_id == 0x00F067AA0BA902B7


def test_tracing_off_gives_the_apis_no_op_span():
    shutdown_tracing()
    span = start_lean_span("check video", attributes={"zenith.video_id": 7})
    assert not span.is_recording() and not span.get_span_context().is_valid
    span.set_attribute("zenith.views", 1)
    span.end()


def test_the_subject_processor_tags_a_lean_span_like_any_other(traced):
    exporter = traced()
    with attached(with_subject({"zenith.video_id": 42, "zenith.platform": "tiktok"})):
        start_lean_span("check video").end()
    assert dict(exporter.get_finished_spans()[0].attributes) == {"zenith.video_id": 42, "zenith.platform": "tiktok"}


def test_attributes_are_checked_and_bounded_as_the_sdk_does(traced, caplog):
    exporter = traced()
    span = start_lean_span("check video")
    caplog.set_level(logging.WARNING, logger="zenith.telemetry.lean_spans")
    span.set_attribute("", "no key")  # dropped, with a warning
    span.set_attribute("zenith.list", ["a", "b"])
    for number in range(MAX_ATTRIBUTES + 1):
        span.set_attributes({f"n{number}": number})
    span.end()
    span.set_attribute("late", 1)  # after the end: ignored, with a warning
    span.end()  # a second end: ignored, with a warning
    (done,) = exporter.get_finished_spans()
    assert "" not in done.attributes and "late" not in done.attributes
    assert "zenith.list" not in done.attributes  # the oldest made room
    assert len(done.attributes) == MAX_ATTRIBUTES and done.dropped_attributes == 2
    assert done.attributes[f"n{MAX_ATTRIBUTES}"] == MAX_ATTRIBUTES
    assert (
        parse_json_request(encode_spans([done])).resource_spans[0].scope_spans[0].spans[0].dropped_attributes_count == 2
    )
    assert [r.getMessage() for r in caplog.records] == [
        "invalid attribute key '': must be a non-empty string",
        "Setting attribute on ended span.",
        "Calling end() on an ended span.",
    ]


def test_a_cleaned_value_is_stored_as_the_sdk_stores_it(traced):
    exporter = traced()
    span = start_lean_span("check video")
    span.set_attribute("zenith.codes", [500, 503])
    span.set_attributes({"zenith.flags": [True], "zenith.name": "x"})
    span.end()
    attributes = exporter.get_finished_spans()[0].attributes
    assert attributes["zenith.codes"] == (500, 503) and attributes["zenith.flags"] == (True,)


def test_status_ok_is_final_and_unset_changes_nothing(traced):
    exporter = traced()
    span = start_lean_span("check video")
    span.set_status(StatusCode.UNSET)
    span.set_status(StatusCode.OK)
    span.set_status(Status(StatusCode.ERROR, "later"))
    span.update_name("checked video")
    span.end()
    (done,) = exporter.get_finished_spans()
    assert done.status.status_code is StatusCode.OK and done.name == "checked video"


def test_attributes_set_together_are_checked_one_by_one_when_any_is_odd(traced, caplog):
    exporter = traced()
    span = start_lean_span("check video")
    caplog.set_level(logging.WARNING, logger="zenith.telemetry.lean_spans")
    span.set_attributes({"": "no key", "zenith.video_id": 7})
    span.set_attributes({7: "not a str key", "zenith.views": 10})  # type: ignore[dict-item]
    span.set_attributes({"zenith.platform": Platform.TIKTOK, "zenith.codes": [500]})
    span.end()
    attributes = exporter.get_finished_spans()[0].attributes
    assert dict(attributes) == {
        "zenith.video_id": 7,
        "zenith.views": 10,
        "zenith.platform": "tiktok",
        "zenith.codes": (500,),
    }
    assert [r.getMessage() for r in caplog.records] == [
        "invalid attribute key '': must be a non-empty string",
        "invalid attribute key 7: must be a non-empty string",
    ]


class _RuleSampler(Sampler):
    """Samples everything, handing back its own attributes in place of the span's."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        return SamplingResult(Decision.RECORD_AND_SAMPLE, {"sampler.rule": "all", "zenith.video_id": -1})

    def get_description(self) -> str:
        return "RuleSampler"


def test_a_span_starts_with_the_attributes_its_sampler_hands_back(traced):
    exporter = traced()
    sdk_tracer = tracer()
    sdk_tracer.sampler = _RuleSampler()  # type: ignore[attr-defined]  # the SDK tracer's own field
    for kind in ("lean", "sdk"):
        _both(kind).end()
    lean, sdk = exporter.get_finished_spans()
    assert dict(lean.attributes) == dict(sdk.attributes) == {"sampler.rule": "all", "zenith.video_id": -1}


def test_spans_started_together_are_the_spans_started_one_by_one(traced):
    exporter = traced()
    with tracer().start_as_current_span("process parsing"):
        with attached(with_subject({"zenith.platform": "youtube"})):
            together = start_lean_spans("check video", [{"zenith.video_id": 1}, {"zenith.video_id": 2}, None])
            alone = [start_lean_span("check video", attributes=a) for a in ({"zenith.video_id": 1}, None)]
    for span in [*together, *alone]:
        span.end()
    done = [s for s in exporter.get_finished_spans() if s.name == "check video"]
    assert [dict(s.attributes) for s in done] == [
        {"zenith.video_id": 1, "zenith.platform": "youtube"},
        {"zenith.video_id": 2, "zenith.platform": "youtube"},
        {"zenith.platform": "youtube"},
        {"zenith.video_id": 1, "zenith.platform": "youtube"},
        {"zenith.platform": "youtube"},
    ]
    (process,) = [s for s in exporter.get_finished_spans() if s.name == "process parsing"]
    assert all(s.parent == process.context for s in done)
    assert len({s.context.span_id for s in done}) == 5
    assert {s.context.trace_flags for s in done} == {process.context.trace_flags}
    # without a parent, each span is a trace of its own
    roots = start_lean_spans("check video", [None, None])
    assert roots[0].get_span_context().trace_id != roots[1].get_span_context().trace_id


class _CountingSampler(Sampler):
    """Asks ``base`` and counts the questions."""

    def __init__(self, base: Sampler) -> None:
        self.base, self.asked = base, 0
        self.follows_sampled_local_parents = getattr(base, "follows_sampled_local_parents", False)

    def should_sample(self, *args, **kwargs):
        self.asked += 1
        return self.base.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "CountingSampler"


@pytest.mark.parametrize(
    ("sampler", "asked_under_a_sampled_parent"),
    [
        ("parentbased_always_on", 0),
        ("parentbased_traceidratio", 0),
        ("parentbased_always_off", 0),
        ("always_on", 0),
        ("traceidratio", 3),  # no parent rule: the ratio decides every span
    ],
)
def test_under_a_sampled_parent_the_sampler_is_asked_only_when_its_answer_is_not_known(
    traced, sampler, asked_under_a_sampled_parent
):
    exporter = traced({"OTEL_TRACES_SAMPLER": sampler, "OTEL_TRACES_SAMPLER_ARG": "1"})
    counting = _CountingSampler(tracer().sampler)  # type: ignore[attr-defined]
    asking = _CountingSampler(tracer().sampler)  # type: ignore[attr-defined]
    asking.follows_sampled_local_parents = False
    with attached(propagate.extract({"traceparent": SAMPLED_PARENT})):
        remote_child = start_lean_span("remote child")  # a remote parent: always asked
        tracer().sampler = counting  # type: ignore[attr-defined]
        with tracer().start_as_current_span("process parsing"):
            counting.asked = 0
            known = start_lean_spans("check video", [{"zenith.video_id": n} for n in range(3)])
            assert counting.asked == asked_under_a_sampled_parent
            tracer().sampler = asking  # type: ignore[attr-defined]
            asked = start_lean_spans("check video", [{"zenith.video_id": n} for n in range(3)])
            assert asking.asked == 3
    for span in [remote_child, *known, *asked]:
        span.end()
    finished = [s for s in exporter.get_finished_spans() if s.name == "check video"]
    # a known answer is the answer the sampler gives: same flags, trace state and attributes
    known_done, asked_done = finished[:3], finished[3:]
    assert [dict(s.attributes) for s in known_done] == [dict(s.attributes) for s in asked_done]
    assert [s.context.trace_flags for s in known_done] == [s.context.trace_flags for s in asked_done]
    assert [s.context.trace_state for s in known_done] == [s.context.trace_state for s in asked_done]


def test_the_default_sampler_is_known_to_keep_the_children_of_sampled_spans(traced):
    traced()  # if the SDK renamed ParentBased's rule, lean spans would silently ask again: this says so
    assert tracer().sampler.follows_sampled_local_parents  # type: ignore[attr-defined]


def test_only_processor_hooks_that_do_something_are_called(make_settings):
    exporter = InMemorySpanExporter()
    settings = make_settings()
    provider = setup_tracing(settings, role="test-lean", exporter=exporter, instrument_libraries=False, environ={})
    assert provider is not None
    hooks = _hooks(tracer().span_processor)  # type: ignore[attr-defined]
    # the subject processor's start (read once per call) and the exporting processor's end
    assert hooks.starts == (SUBJECT_HOOK,) and len(hooks.ends) == 1

    class Recorder(SpanProcessor):
        def __init__(self) -> None:
            self.events: list[str] = []

        def on_start(self, span, parent_context=None) -> None:
            self.events.append(f"start {dict(span.attributes)}")

        def _on_ending(self, span) -> None:
            self.events.append("ending")

        def on_end(self, span) -> None:
            self.events.append(f"end {span.end_time is not None}")

    recorder = Recorder()
    try:
        provider.add_span_processor(recorder)  # added after the first spans: the next span sees it
        with attached(with_subject({"zenith.video_id": 5})):
            start_lean_span("check video", attributes={"zenith.views": 1}).end()
    finally:
        shutdown_tracing()
    assert recorder.events == ["start {'zenith.views': 1, 'zenith.video_id': 5}", "ending", "end True"]
    assert [s.name for s in exporter.get_finished_spans()] == ["check video"]


def test_an_empty_method_is_told_from_one_that_does_something():
    class Processor:
        def empty(self, span):
            """Only a docstring."""

        def returns_none(self, span):
            return None

        def returns_something(self, span):
            return span

        def calls(self, span):
            span.end()

    processor = Processor()
    assert _does_nothing(processor.empty) and _does_nothing(processor.returns_none)
    assert not _does_nothing(processor.returns_something) and not _does_nothing(processor.calls)
    assert not _does_nothing(len)  # not Python: called as it is


def test_a_lean_span_writes_json_as_a_readable_span_does(traced):
    traced()
    span = start_lean_span("check video", attributes={"zenith.video_id": 7})
    span.end()
    written = json.loads(span.to_json())  # type: ignore[attr-defined]
    assert written["name"] == "check video" and written["attributes"] == {"zenith.video_id": 7}
    assert written["context"]["span_id"] == f"0x{span.get_span_context().span_id:016x}"


def test_a_span_processor_other_than_the_sdks_multi_processor_is_called_as_the_sdk_calls_it(traced):
    traced()
    calls: list[str] = []

    class Single(SpanProcessor):
        def on_start(self, span, parent_context=None) -> None:
            calls.append("start")

        def _on_ending(self, span) -> None:
            calls.append("ending")

        def on_end(self, span) -> None:
            calls.append("end")

    sdk_tracer = tracer()
    sdk_tracer.span_processor = Single()  # type: ignore[attr-defined]  # the SDK tracer's own field
    start_lean_span("check video").end()
    assert calls == ["start", "ending", "end"]
