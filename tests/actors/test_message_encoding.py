"""Dramatiq messages written and read by orjson, readable by Dramatiq's own encoder and back."""

from __future__ import annotations

import threading

import dramatiq
import pytest
from dramatiq.encoder import JSONEncoder
from dramatiq.errors import DecodeError

from zenith.config import load_settings
from zenith.messaging.broker import build_broker
from zenith.messaging.message_encoding import FastJsonEncoder


def _message() -> dramatiq.Message:
    return dramatiq.Message(
        queue_name="notifications",
        actor_name="notify",
        args=(123, "credit.notice", {"amount": "12.50", "title": "Привет 😀", "big": 10**30}),
        kwargs={},
        options={"otel": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
    )


def test_both_encoders_read_what_the_other_wrote():
    message, ours, theirs = _message(), FastJsonEncoder(), JSONEncoder()
    data = message.asdict()
    assert ours.decode(ours.encode(data)) == theirs.decode(theirs.encode(data))
    assert theirs.decode(ours.encode(data)) == ours.decode(theirs.encode(data)) == theirs.decode(theirs.encode(data))


@pytest.mark.parametrize("garbage", [b"", b"not json", b"\xff\xfe"])
def test_garbage_is_a_decode_error_as_with_dramatiqs_encoder(garbage):
    with pytest.raises(DecodeError):
        FastJsonEncoder().decode(garbage)


def test_a_message_goes_through_redis_and_a_worker_with_its_arguments_intact(redis_url, namespace):
    broker = build_broker(load_settings({}), redis_url=redis_url, namespace=namespace)
    assert isinstance(dramatiq.get_encoder(), FastJsonEncoder)
    received: list[tuple] = []
    done = threading.Event()

    def notify(user_id, key, params):
        received.append((user_id, key, params))
        done.set()

    dramatiq.actor(notify, broker=broker, queue_name="notifications", actor_name="notify")
    broker.enqueue(_message())
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        assert done.wait(15)
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
    assert received == [(123, "credit.notice", {"amount": "12.50", "title": "Привет 😀", "big": 10**30})]
