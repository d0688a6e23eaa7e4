"""Trace context through a real Dramatiq worker on Redis: one trace for a chain with a retry."""

from __future__ import annotations

import asyncio
import threading

import dramatiq
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from zenith.telemetry.attributes import current_trace_id_hex, video_attributes
from zenith.telemetry.dramatiq_middleware import CARRIER_OPTION
from zenith.telemetry.links import link_to_trace, new_trace_for_message
from zenith.telemetry.tracing import tracer

WAIT_SECONDS = 20


def _by_name(spans, name):
    return [s for s in spans if s.name == name]


def test_chain_with_async_retry_is_one_correctly_parented_trace(span_exporter, traced_broker, run_worker, metrics):
    done = threading.Event()
    seen: dict[str, object] = {}
    attempts = {"b": 0}

    def step_c(video_id):
        seen["c_trace"] = current_trace_id_hex()
        done.set()

    async def step_b(video_id):
        attempts["b"] += 1
        # The consumer span must be current inside the coroutine, on the event-loop thread.
        span = trace.get_current_span()
        span.set_attributes(video_attributes(video_id, "youtube"))
        seen.setdefault("b_spans", []).append(span.get_span_context().span_id)
        seen.setdefault("b_threads", []).append(threading.current_thread().name)
        await asyncio.sleep(0)
        if attempts["b"] == 1:
            raise RuntimeError("platform hiccup")
        actor_c.send(video_id)

    def step_a(video_id):
        actor_b.send(video_id)

    actor_a = dramatiq.actor(step_a, broker=traced_broker, queue_name="qa", actor_name="step_a")
    actor_b = dramatiq.actor(
        step_b, broker=traced_broker, queue_name="qb", actor_name="step_b", min_backoff=10, max_backoff=50
    )
    actor_c = dramatiq.actor(step_c, broker=traced_broker, queue_name="qc", actor_name="step_c")
    run_worker(worker_threads=2)

    with tracer().start_as_current_span("test root") as root:
        root_trace_id = root.get_span_context().trace_id
        actor_a.send(42)
    assert done.wait(WAIT_SECONDS), "the chain did not finish"
    traced_broker.join("qc", timeout=WAIT_SECONDS * 1000)

    spans = span_exporter.get_finished_spans()
    # A span ends just after the actor returns; give the worker a moment to end the last one.
    for _ in range(100):
        if len(_by_name(span_exporter.get_finished_spans(), "process qc")) == 1:
            break
        threading.Event().wait(0.05)
    spans = span_exporter.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {root_trace_id}
    assert seen["c_trace"] == trace.format_trace_id(root_trace_id)

    (send_a,) = _by_name(spans, "send qa")
    (process_a,) = _by_name(spans, "process qa")
    (send_b,) = _by_name(spans, "send qb")
    process_b = sorted(_by_name(spans, "process qb"), key=lambda s: s.start_time)
    (send_c,) = _by_name(spans, "send qc")
    (process_c,) = _by_name(spans, "process qc")

    assert send_a.parent.span_id == root.get_span_context().span_id
    assert process_a.parent.span_id == send_a.context.span_id
    assert send_b.parent.span_id == process_a.context.span_id
    assert len(process_b) == 2
    assert all(p.parent.span_id == send_b.context.span_id for p in process_b)
    assert send_c.parent.span_id == process_b[1].context.span_id
    assert process_c.parent.span_id == send_c.context.span_id

    # The span current in the coroutine was the consumer span, on the event-loop thread.
    assert seen["b_spans"] == [p.context.span_id for p in process_b]
    assert all(name != threading.current_thread().name for name in seen["b_threads"])

    for span in (send_a, send_b, send_c):
        assert span.kind == SpanKind.PRODUCER
        assert span.attributes["messaging.operation.type"] == "send"
    for span in (process_a, *process_b, process_c):
        assert span.kind == SpanKind.CONSUMER
        assert span.attributes["messaging.operation.type"] == "process"
    assert send_b.attributes["messaging.system"] == "dramatiq"
    assert send_b.attributes["messaging.destination.name"] == "qb"
    assert send_b.attributes["messaging.message.id"] == process_b[0].attributes["messaging.message.id"]
    assert process_b[0].attributes["messaging.dramatiq.actor"] == "step_b"

    first, second = process_b
    assert first.attributes["messaging.dramatiq.retries"] == 0
    assert second.attributes["messaging.dramatiq.retries"] == 1
    assert first.status.status_code == StatusCode.ERROR
    assert [e.name for e in first.events] == ["exception"]
    assert first.events[0].attributes["exception.type"] == "RuntimeError"
    assert second.status.status_code != StatusCode.ERROR
    assert second.attributes["zenith.video_id"] == 42

    def sample(name, **labels):
        return metrics.registry.get_sample_value(name, labels) or 0

    assert sample("dramatiq_message_retries_total", queue="qb", actor="step_b") == 1
    assert sample("dramatiq_messages_total", queue="qb", actor="step_b", outcome="retried") == 1
    assert sample("dramatiq_messages_total", queue="qb", actor="step_b", outcome="success") == 1
    assert sample("dramatiq_messages_total", queue="qc", actor="step_c", outcome="success") == 1
    assert sample("dramatiq_message_duration_seconds_count", queue="qa", actor="step_a") == 1


def test_message_sent_in_new_trace_block_is_a_linked_root(span_exporter, traced_broker):
    first_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    actor = dramatiq.actor(lambda: None, broker=traced_broker, queue_name="qr", actor_name="recheck")
    with tracer().start_as_current_span("clock tick") as tick:
        with new_trace_for_message(links=[link_to_trace(first_trace)]):
            message = actor.send()
        other = actor.send()

    sends = _by_name(span_exporter.get_finished_spans(), "send qr")
    linked = next(s for s in sends if s.attributes["messaging.message.id"] == message.message_id)
    chained = next(s for s in sends if s.attributes["messaging.message.id"] == other.message_id)
    assert linked.parent is None
    assert linked.context.trace_id != tick.get_span_context().trace_id
    assert [trace.format_trace_id(link.context.trace_id) for link in linked.links] == [first_trace]
    assert chained.parent.span_id == tick.get_span_context().span_id
    assert message.options[CARRIER_OPTION]["traceparent"].split("-")[1] == trace.format_trace_id(
        linked.context.trace_id
    )


def test_tracing_off_leaves_messages_untouched(traced_broker):
    actor = dramatiq.actor(lambda: None, broker=traced_broker, queue_name="qo", actor_name="untraced")
    message = actor.send()
    assert CARRIER_OPTION not in message.options
