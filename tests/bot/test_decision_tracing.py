"""Admin decisions name what they decided on the update's span (zenith.payout_id, zenith.video_id)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.bot.conftest import ADMIN_ID, wait_until
from tests.bot.test_money_and_admin import _creator, _video
from zenith.storage import payouts
from zenith.storage.db import unit_of_work
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing


@pytest.fixture
def spans(make_settings):
    exporter = InMemorySpanExporter()
    setup_tracing(make_settings(), role="test-bot", exporter=exporter, instrument_libraries=False)
    yield exporter
    shutdown_tracing()


async def _update_span_with(spans, key: str, value):
    async def found():
        return [s for s in spans.get_finished_spans() if s.name == "telegram update" and s.attributes.get(key) == value]

    return (await wait_until(found, timeout=15))[0]


async def _press(sandbox, data: str) -> None:
    """The admin presses a card button carrying `data` (sent on a fresh bot message: which
    card carries it does not matter to the handler, and the shared queue may page it away)."""
    sandbox.state.user_sends_text(ADMIN_ID, "/help", language_code="en")
    message = await sandbox.state.wait_for_message(ADMIN_ID, contains="Help")
    sandbox.state.user_sends_callback(ADMIN_ID, message.message_id, data)


async def test_payout_approval_is_tagged_with_the_payout_id(spans, bot, sandbox, pool):
    creator = await _creator(sandbox, pool, balance="900")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("600"), asset="TON", request_id=f"trace:{creator.id}"
        )
    await _press(sandbox, f"ap:ok:{payout.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Payout #{payout.id} approved", after=0)
    span = await _update_span_with(spans, "zenith.payout_id", payout.id)
    assert span.attributes["telegram.update_type"] == "callback_query"
    # the raw Telegram id never reaches a span
    assert ADMIN_ID not in span.attributes.values()


async def test_moderation_approve_and_reject_are_tagged_with_the_video(spans, bot, sandbox, pool):
    creator = await _creator(sandbox, pool)
    approved, rejected = await _video(pool, creator), await _video(pool, creator)
    await _press(sandbox, f"av:ok:{approved.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{approved.id} approved", after=0)
    span = await _update_span_with(spans, "zenith.video_id", approved.id)
    assert span.attributes["zenith.platform"] == "youtube"

    await _press(sandbox, f"av:no:{rejected.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="reason")
    sandbox.state.user_sends_text(ADMIN_ID, "not original")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{rejected.id} rejected")
    # the decision is the typed reason's update (a message), not the button press
    span = await _update_span_with(spans, "zenith.video_id", rejected.id)
    assert span.attributes["telegram.update_type"] == "message"
