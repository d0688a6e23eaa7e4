"""Messages enqueued together in one Redis pipeline (messaging.batch_enqueue), through a
real Redis broker and a real Dramatiq worker: each is processed once, each "send" span is
a child of the span current when it was added and ends without an error; a pipeline that
cannot reach Redis sends nothing, says so to its caller, and its spans end as failed."""

from __future__ import annotations

import threading

import dramatiq
import pytest
import redis as redis_lib
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from opentelemetry.trace import StatusCode

from tests.integration.conftest import free_port
from zenith.messaging.batch_enqueue import EnqueueBatch
from zenith.messaging.contract import Route
from zenith.telemetry.dramatiq_middleware import carry_context, install_telemetry_middleware
from zenith.telemetry.tracing import tracer

WAIT_SECONDS = 20
ROUTE = Route("batched_step", "batched")


def test_a_batch_is_processed_once_each_with_its_own_send_span(span_exporter, traced_broker, run_worker):
    seen: list[int] = []
    done = threading.Event()

    def batched_step(n: int) -> None:
        seen.append(n)
        if len(seen) == 5:
            done.set()

    dramatiq.actor(batched_step, broker=traced_broker, queue_name=ROUTE.queue_name, actor_name=ROUTE.actor_name)
    batch = EnqueueBatch(traced_broker)
    parents = {}
    for n in range(5):
        with tracer().start_as_current_span(f"check {n}") as parent:
            batch.add(ROUTE, n)
            parents[n] = parent.get_span_context().span_id
    assert traced_broker.client.llen(f"{traced_broker.namespace}:{ROUTE.queue_name}") == 0  # nothing sent yet
    assert batch.flush() == 5 and batch.flush() == 0
    run_worker(worker_threads=2)
    assert done.wait(WAIT_SECONDS), f"only {seen} processed"
    traced_broker.join(ROUTE.queue_name, timeout=WAIT_SECONDS * 1000)
    assert sorted(seen) == [0, 1, 2, 3, 4]
    sends = [span for span in span_exporter.get_finished_spans() if span.name == "send batched"]
    assert len(sends) == 5
    assert {span.parent.span_id for span in sends} == set(parents.values())
    assert all(span.status.status_code is not StatusCode.ERROR for span in sends)
    processed = [span for span in span_exporter.get_finished_spans() if span.name == "process batched"]
    assert sorted(span.parent.span_id for span in processed) == sorted(span.context.span_id for span in sends)


def test_a_pipeline_that_cannot_reach_redis_sends_nothing_and_fails_its_spans(span_exporter, namespace):
    broker = RedisBroker(url=f"redis://127.0.0.1:{free_port()}/0", namespace=namespace)  # nothing listens
    install_telemetry_middleware(broker, metrics=False)
    batch = EnqueueBatch(broker)
    with tracer().start_as_current_span("check"):
        batch.add(ROUTE, 1)
        batch.add(ROUTE, 2)
    with pytest.raises(redis_lib.exceptions.ConnectionError):
        batch.flush()
    assert not [span for span in span_exporter.get_finished_spans() if span.name == "send batched"]
    # the next send on this thread ends the two that never completed, as failed
    batch.add(ROUTE, 3)
    failed = [span for span in span_exporter.get_finished_spans() if span.name == "send batched"]
    assert [span.status.status_code for span in failed] == [StatusCode.ERROR, StatusCode.ERROR]


def test_other_brokers_enqueue_at_once(span_exporter):
    stub = StubBroker()
    install_telemetry_middleware(stub, metrics=False)
    stub.declare_queue(ROUTE.queue_name)
    batch = EnqueueBatch(stub)
    batch.add(ROUTE, 3)
    assert stub.queues[ROUTE.queue_name].qsize() == 1 and batch.flush() == 0


def test_carried_sends_open_no_span_and_are_processed_under_the_current_one(span_exporter, traced_broker, run_worker):
    done = threading.Event()

    def batched_step(n: int) -> None:
        done.set()

    dramatiq.actor(batched_step, broker=traced_broker, queue_name=ROUTE.queue_name, actor_name=ROUTE.actor_name)
    batch = EnqueueBatch(traced_broker)
    with tracer().start_as_current_span("check 7") as check, carry_context():
        batch.add(ROUTE, 7)
    assert batch.flush() == 1
    run_worker(worker_threads=1)
    assert done.wait(WAIT_SECONDS)
    traced_broker.join(ROUTE.queue_name, timeout=WAIT_SECONDS * 1000)
    finished = span_exporter.get_finished_spans()
    assert not [span for span in finished if span.name == "send batched"]
    (processed,) = [span for span in finished if span.name == "process batched"]
    assert processed.parent.span_id == check.get_span_context().span_id
    assert processed.context.trace_id == check.get_span_context().trace_id
