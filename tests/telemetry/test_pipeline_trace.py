"""One submission through the real bot and actors is ONE trace; a re-check is its own, linked trace.

The bot polls the in-process sandbox, an in-process Dramatiq worker runs every actor,
YouTube and Crypto Pay are the local fakes; spans go to memory with psycopg, Redis and
aiohttp-client instrumented. The fake YouTube answers the submission's first
``videos.list`` with a 500, so the adapter's retry shows as two HTTP spans in the trace.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.bot.conftest import new_telegram_id, wait_until
from tests.view_history import let_time_pass
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.storage import accounts, users, videos
from zenith.storage.db import unit_of_work
from zenith.telemetry.logs import JsonFormatter, SecretMasker
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.subject import PAYOUT_ID

REPO_ROOT = Path(__file__).resolve().parents[2]
COUNTED = (
    ("video_submissions_total", {"platform": "youtube", "status": "approved"}),
    ("video_processing_seconds_count", {"platform": "youtube"}),
    ("platform_errors_total", {"platform": "youtube", "kind": "http_5xx"}),
    ("dramatiq_messages_total", {"queue": "parsing", "actor": "check_videos", "outcome": "success"}),
)
VIDEO_ID = "zenith.video_id"


def _hex(trace_id: int) -> str:
    return f"{trace_id:032x}"


def _children(spans, parent):
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _one_child(spans, parent, name):
    found = [s for s in _children(spans, parent) if s.name == name]
    assert len(found) == 1, f"{parent.name} -> {name}: {[s.name for s in _children(spans, parent)]}"
    return found[0]


def _telegram_send(spans, process_notice):
    """The sendMessage call of a notice, following the re-enqueues of a busy chat.

    A chat that got a message less than its interval ago sends the notice back to the
    queue with a delay; the later delivery is a child of the first one, in the same trace.
    """
    while True:
        calls = [s for s in _children(spans, process_notice) if s.kind == SpanKind.CLIENT and "sendMessage" in _url(s)]
        if calls:
            (call,) = calls
            return call
        requeued = _one_child(spans, process_notice, "send notifications")
        process_notice = _one_child(spans, requeued, "process notifications")


def _status_code(span):
    return span.attributes.get("http.response.status_code", span.attributes.get("http.status_code"))


def _url(span):
    return str(span.attributes.get("url.full", span.attributes.get("http.url", "")))


async def _gold_creator_with_channel(state, pool, uid: int, channel_id: str):
    state.user_sends_text(uid, "/start", first_name="Traced", language_code="en")
    await state.wait_for_message(uid, contains="Hi")
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        await users.set_tier(conn, user_id=user.id, tier="gold")
        account = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle=channel_id.lower(),
            verification_code="ZM-ABCDEFGH",
            external_id=channel_id,
        )
        await accounts.mark_verified(conn, account_id=account.id, external_id=channel_id)
    return user


async def _finished_spans(exporter, predicate, *, timeout: float = 20.0):
    async def ready():
        spans = exporter.get_finished_spans()
        return spans if predicate(spans) else None

    return await wait_until(ready, timeout=timeout)


@pytest.fixture
def json_log_lines(caplog, make_settings):
    """Every log record of the test as the processes write them (JSON lines), returned as a list of dicts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(role="test", masker=SecretMasker(make_settings().secrets())))
    caplog.set_level(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.getLogger().removeHandler(handler)


async def test_submission_is_one_trace_through_every_hop_and_a_recheck_is_a_linked_trace(
    pipeline_spans, e2e_bot, e2e_settings, worker, broker, sandbox, fakes, pool, database_url, redis_url, json_log_lines
):
    youtube, _, _ = fakes
    state = sandbox.state
    uid = new_telegram_id()
    channel_id = "UC" + uuid.uuid4().hex[:22]
    external_id = uuid.uuid4().hex[:11]
    await _gold_creator_with_channel(state, pool, uid, channel_id)
    youtube.state.add_video(external_id, views=20_000, channel_id=channel_id)
    youtube.state.fail_next("500")  # the submission's videos.list: one 500, then the retry succeeds
    pipeline_spans.clear()
    registry = get_metrics().registry
    before = {name: registry.get_sample_value(name, labels) or 0 for name, labels in COUNTED}

    state.user_sends_text(uid, f"https://youtu.be/{external_id}")
    await state.wait_for_message(uid, contains="1 link accepted")
    await state.wait_for_message(uid, contains="+1,300.00 RUB", after=0, timeout=30)
    async with pool.connection() as conn:
        video = await videos.find(conn, platform="youtube", external_id=external_id)

    def credit_notice_sent(spans):
        # the approval and credit notices' deliveries that called the Bot API have ended,
        # and with them every span before (a busy chat's first delivery only re-enqueues)
        sending = {
            s.parent.span_id
            for s in spans
            if s.parent is not None and s.kind == SpanKind.CLIENT and "sendMessage" in _url(s)
        }
        return (
            any(s.name == "check video" and "zenith.credited" in s.attributes for s in spans)
            and sum(
                1
                for s in spans
                if s.name == "process notifications"
                and s.attributes.get(VIDEO_ID) == video.id
                and s.context.span_id in sending
            )
            >= 2
        )

    spans = await _finished_spans(pipeline_spans, credit_notice_sent)
    (submit_link,) = [s for s in spans if s.name == "submit link"]
    trace_id = submit_link.context.trace_id
    assert video.trace_id == _hex(trace_id)  # the video's first trace is the submission's
    in_trace = [s for s in spans if s.context.trace_id == trace_id]

    # bot update -> submit link -> send submission -> process submission
    update = next(s for s in in_trace if s.context.span_id == submit_link.parent.span_id)
    assert update.name == "telegram update" and update.kind == SpanKind.SERVER and update.parent is None
    send_submission = _one_child(in_trace, submit_link, "send submission")
    assert send_submission.kind == SpanKind.PRODUCER
    process_submission = _one_child(in_trace, send_submission, "process submission")
    assert process_submission.kind == SpanKind.CONSUMER
    assert (
        process_submission.attributes[VIDEO_ID] == video.id
        and process_submission.attributes["zenith.platform"] == "youtube"
    )

    # the retry inside it: two videos.list calls, the first answered 500
    youtube_calls = sorted(
        (
            s
            for s in _children(in_trace, process_submission)
            if s.kind == SpanKind.CLIENT and "/youtube/v3/videos" in _url(s)
        ),
        key=lambda s: s.start_time,
    )
    assert [_status_code(s) for s in youtube_calls] == [500, 200]
    assert youtube_calls[0].status.status_code == StatusCode.ERROR

    # -> send parsing -> process parsing -> check video (the credit on it), then the credit notice
    send_parsing = _one_child(in_trace, process_submission, "send parsing")
    process_parsing = _one_child(in_trace, send_parsing, "process parsing")
    check_video = _one_child(in_trace, process_parsing, "check video")
    assert check_video.attributes["zenith.credited"] == "1300.00" and check_video.attributes["zenith.views"] == 20_000
    # one span per video per stage: the check's SQL and Redis calls, its ledger credit and the
    # send of its notice have no spans of their own; the notice's processing is its child
    assert [s.name for s in _children(in_trace, check_video)] == ["process notifications"]
    process_notice = _one_child(in_trace, check_video, "process notifications")
    assert process_notice.kind == SpanKind.CONSUMER
    bot_api_call = _telegram_send(in_trace, process_notice)
    assert _status_code(bot_api_call) == 200
    assert e2e_settings.telegram_bot_token not in _url(bot_api_call) and "/bot***/" in _url(bot_api_call)
    # the approval notice sent by the submission actor joins the same trace
    approved_notice = _one_child(in_trace, process_submission, "send notifications")
    _one_child(in_trace, approved_notice, "process notifications")

    # every span about the video carries its id -- instrumented SQL, Redis and HTTP spans too
    about_video = [
        process_submission,
        send_parsing,
        process_parsing,
        check_video,
        process_notice,
        bot_api_call,
    ]
    about_video += [s for s in in_trace if _is_below(in_trace, s, process_parsing)]
    for span in about_video:
        assert span.attributes.get(VIDEO_ID) == video.id, span.name
    assert all(PAYOUT_ID not in s.attributes for s in in_trace)

    # nothing exported names the creator or a secret
    secrets = {str(uid), e2e_settings.telegram_bot_token, e2e_settings.youtube_api_key, e2e_settings.crypto_pay_token}
    for span in spans:
        for key, value in span.attributes.items():
            assert value != uid, (span.name, key)
            assert not any(secret in str(value) for secret in secrets), (span.name, key, value)
    assert update.attributes["zenith.user_hash"] != str(uid)

    # the series of the work were recorded (the in-process worker shares this process's registry)
    after = {name: registry.get_sample_value(name, labels) or 0 for name, labels in COUNTED}
    assert all(after[name] > before[name] for name, _ in COUNTED), (before, after)

    # the log lines of the same work carry the trace id (and the video id), never the creator's id
    lines = json_log_lines()
    assert not [line for line in lines if str(uid) in json.dumps(line)]
    assert any(line["message"] == "submission queued" and line["trace_id"] == _hex(trace_id) for line in lines)
    (processed,) = [
        line for line in lines if line.get("event") == "video_processed" and line["trace_id"] == _hex(trace_id)
    ]
    assert processed["level"] == "INFO" and processed["video_id"] == video.id and processed["platform"] == "youtube"
    assert processed["views"] == 20_000 and processed["earnings"] == "1300.00" and processed["processing_time"] > 0

    # a re-check from the clock: a new trace, linked to the first, recorded for `zenith trace`
    await let_time_pass(pool, video.id, 3)  # hours later: 10,000 more views is ordinary growth, not a spike to hold
    youtube.state.set_views(external_id, 30_000)
    async with unit_of_work(pool) as conn:
        await conn.execute("UPDATE videos SET next_check_at = now() - interval '1 second' WHERE id = %s", (video.id,))
    pipeline_spans.clear()
    runtime = Runtime(e2e_settings, broker=broker, database_url=database_url, redis_url=redis_url)
    try:
        assert (await tick(datetime.now(timezone.utc), runtime=runtime))["checks"] >= 1
    finally:
        await runtime.close()

    def recheck_credit_of(spans):
        return next(
            (
                s
                for s in spans
                if s.name == "check video"
                and s.attributes.get(VIDEO_ID) == video.id
                and "zenith.credited" in s.attributes
            ),
            None,
        )

    spans = await _finished_spans(pipeline_spans, lambda spans: recheck_credit_of(spans) is not None)
    recheck_credit = recheck_credit_of(spans)
    recheck_trace = recheck_credit.context.trace_id
    assert recheck_trace != trace_id
    (root_send,) = [s for s in spans if s.context.trace_id == recheck_trace and s.parent is None]
    assert root_send.name == "send parsing"
    assert [link.context.trace_id for link in root_send.links] == [trace_id]
    assert recheck_credit.attributes["zenith.credited"] == "650.00"

    output = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "zenith", "trace", str(video.id)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DATABASE_URL": database_url,
            "JAEGER_UI_URL": "http://jaeger:16686",
        },
    )
    assert output.returncode == 0, output.stderr
    lines = output.stdout.splitlines()
    print(output.stdout)
    assert lines[1].startswith(f"first trace  {_hex(trace_id)}  http://jaeger:16686/trace/{_hex(trace_id)}")
    assert lines[2].startswith(f"recheck      {_hex(recheck_trace)}  http://jaeger:16686/trace/{_hex(recheck_trace)}")


def _is_below(spans, span, ancestor) -> bool:
    by_id = {s.context.span_id: s for s in spans}
    current = span
    while current.parent is not None:
        parent = by_id.get(current.parent.span_id)
        if parent is None:
            return False
        if parent is ancestor:
            return True
        current = parent
    return False
