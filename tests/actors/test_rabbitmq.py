"""One run of the pipeline on RabbitMQ (BROKER_URL amqp://...).

RabbitMQ queues are global to the vhost, so this test's broker appends a unique suffix
to every queue name it declares, sends to and consumes from, and deletes exactly those
queues at the end.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import dq_name, q_name, xq_name
from dramatiq.middleware import AsyncIO

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from tests.actors.test_pipeline import _video_by_request
from tests.conftest import TEST_RABBITMQ_URL
from zenith.actors.worker import build_worker
from zenith.messaging.contract import QUEUES, SUBMIT_VIDEO, send
from zenith.storage import ledger


class SuffixedRabbitmqBroker(RabbitmqBroker):
    """A RabbitMQ broker whose queue names all end in ``suffix`` (test isolation)."""

    def __init__(self, *, suffix: str, **options) -> None:
        self.suffix = suffix
        super().__init__(**options)

    def _own(self, name: str) -> str:
        base = q_name(name)
        if base.endswith(self.suffix):
            return name
        return base + self.suffix + name[len(base) :]

    def declare_queue(self, queue_name: str, *, ensure: bool = False) -> None:
        super().declare_queue(self._own(queue_name), ensure=ensure)

    def enqueue(self, message, *, delay=None):
        return super().enqueue(message.copy(queue_name=self._own(message.queue_name)), delay=delay)

    def delete_own_queues(self) -> None:
        for queue in list(self.get_declared_queues()):
            for name in (queue, dq_name(queue), xq_name(queue)):
                self.channel.queue_delete(name)


@pytest.fixture
def rabbitmq_broker():
    broker = SuffixedRabbitmqBroker(suffix=f"-{uuid.uuid4().hex[:8]}", url=TEST_RABBITMQ_URL)
    broker.add_middleware(AsyncIO())
    for queue in QUEUES:
        broker.declare_queue(queue)
    yield broker
    broker.delete_own_queues()
    broker.close()


async def test_submission_to_credit_on_rabbitmq(
    rabbitmq_broker, make_settings, actor_env, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    settings = make_settings(**actor_env, BROKER_URL=TEST_RABBITMQ_URL)
    user = await make_user(tier="gold")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=3_000, channel_id=channel)
    request_id = uuid.uuid4().hex
    worker = build_worker(
        settings,
        threads=2,
        worker_timeout_ms=100,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        broker=rabbitmq_broker,
    )
    worker.start()
    try:
        assert all(q.endswith(rabbitmq_broker.suffix) for q in rabbitmq_broker.get_declared_queues())
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", request_id, broker=rabbitmq_broker)

        async def credited():
            video = await _video_by_request(pool, request_id)
            return video if video and video.credited > 0 else None

        video = await eventually(credited, timeout=30, what="credited over RabbitMQ")
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="notifications over RabbitMQ")
    finally:
        worker.stop(10_000)
    assert video.credited == Decimal("195.00")
    async with pool.connection() as conn:
        assert (await ledger.balances(conn, user.id)).available == Decimal("195.00")
