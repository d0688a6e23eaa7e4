"""A real `zenith worker --queues parsing` process exports its spans over OTLP/HTTP and logs JSON.

The test sends ``check_videos`` inside a span of its own (in-memory exporter), the worker
(a subprocess with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local receiver) checks the
video against the fake YouTube and credits it, then gets SIGTERM: the spans still in its
batch processor must reach the receiver before it exits, under service.name
zenith-worker-parsing, in the test's trace, with the video's attributes; its stderr is
JSON lines carrying that trace id.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from tests.bot.conftest import new_telegram_id, wait_until
from tests.telemetry.otlp_bodies import parse_request
from zenith.messaging.contract import CHECK_VIDEOS, send
from zenith.storage import accounts, users, videos
from zenith.storage.db import unit_of_work
from zenith.telemetry.tracing import tracer

REPO_ROOT = Path(__file__).resolve().parents[2]


def _attributes(key_values) -> dict:
    values = {}
    for kv in key_values:
        kind = kv.value.WhichOneof("value")
        values[kv.key] = getattr(kv.value, kind) if kind else None
    return values


def _descendants(spans, ancestor):
    found, frontier = [], {ancestor.span_id}
    while frontier:
        children = [span for span in spans if span.parent_span_id in frontier]
        found += children
        frontier = {span.span_id for span in children}
    return found


async def _approved_video(pool, youtube) -> videos.Video:
    channel_id = "UC" + uuid.uuid4().hex[:22]
    external_id = uuid.uuid4().hex[:11]
    youtube.state.add_video(external_id, views=20_000, channel_id=channel_id)
    async with unit_of_work(pool) as conn:
        user = await users.get_or_create(conn, telegram_id=new_telegram_id(), language="en")
        user = await users.set_tier(conn, user_id=user.id, tier="gold")
        account = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle=channel_id.lower(),
            verification_code="ZM-ABCDEFGH",
            external_id=channel_id,
        )
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id=external_id,
            user_id=user.id,
            url=f"https://www.youtube.com/watch?v={external_id}",
            request_id=uuid.uuid4().hex,
            account_id=account.id,
            status="approved",
        )
    return video


async def test_worker_process_exports_on_sigterm_and_logs_json_with_the_trace_id(
    traced_broker, span_exporter, aiohttp_client_factory, fakes, pool, database_url, redis_url, namespace
):
    youtube, _, _ = fakes
    video = await _approved_video(pool, youtube)
    requests: list[ExportTraceServiceRequest] = []

    async def receive(request: web.Request) -> web.Response:
        assert request.content_type == "application/json"  # the default encoding
        requests.append(parse_request(request.content_type, await request.read()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/traces", receive)
    async with aiohttp_client_factory(app) as (_, receiver_url):
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "PYTHONPATH": str(REPO_ROOT),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_NAMESPACE": namespace,
            "YOUTUBE_API_KEY": youtube.state.api_key,
            "YOUTUBE_API_URL": youtube.url + "/youtube/v3",
            "ALLOW_PRIVATE_NETWORK": "true",
            "MIN_VIEWS": "1000",
            "LOG_LEVEL": "DEBUG",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "zenith",
            "worker",
            "--queues",
            "parsing",
            "--threads",
            "2",
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stderr_task = asyncio.create_task(process.stderr.read())
        try:
            with tracer().start_as_current_span("test root") as root:
                send(CHECK_VIDEOS, [video.id], broker=traced_broker)

            async def checked():
                async with pool.connection() as conn:
                    return (await videos.get(conn, video.id)).last_checked_at

            await wait_until(checked, timeout=60, interval=0.2)
            assert not requests, "spans left before SIGTERM: the test would not prove the flush"
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=40)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        stderr = (await stderr_task).decode()
    assert process.returncode == 0, stderr[-3000:]

    spans = [
        (_attributes(resource_spans.resource.attributes), span)
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    trace_id = root.get_span_context().trace_id
    ours = [(resource, span) for resource, span in spans if span.trace_id == trace_id.to_bytes(16, "big")]
    assert {resource["service.name"] for resource, _ in ours} == {"zenith-worker-parsing"}
    by_name = {span.name: span for _, span in ours}
    (send_span,) = [s for s in span_exporter.get_finished_spans() if s.name == "send parsing"]
    assert by_name["process parsing"].parent_span_id == send_span.context.span_id.to_bytes(8, "big")
    for name in ("process parsing", "check video"):
        attributes = _attributes(by_name[name].attributes)
        assert attributes["zenith.video_id"] == video.id and attributes["zenith.platform"] == "youtube", name
    assert _attributes(by_name["check video"].attributes)["zenith.credited"] == "1300.00"

    # the worker's libraries are instrumented: the call to the platform has its client span; the
    # message's statements run under its stage spans ("load videos", ...) and those of the check
    # itself, its credit and its notice's send get no spans of their own: "check video" is that stage
    def is_statement(span) -> bool:
        return bool({"db.statement", "db.query.text"} & set(_attributes(span.attributes)))

    client_calls = [span for _, span in ours if span.kind == span.SpanKind.SPAN_KIND_CLIENT]
    assert [span.name for span in client_calls] == ["GET"], [span.name for span in client_calls]
    assert "/youtube/v3/videos" in _attributes(client_calls[0].attributes)["http.url"]
    assert {"load videos", "load owners and terms"} <= set(by_name)
    assert [span.name for _, span in ours if is_statement(span)] == []
    assert _descendants([span for _, span in ours], by_name["check video"]) == []

    lines = [line for line in stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {entry["role"] for entry in entries} == {"worker-parsing"}
    checked_line = next(entry for entry in entries if entry.get("event") == "video_processed")
    assert checked_line["trace_id"] == f"{trace_id:032x}" and checked_line["video_id"] == video.id
    assert any(
        entry["logger"].startswith("dramatiq") for entry in entries
    )  # Dramatiq's own logging goes through it too
    assert youtube.state.api_key not in stderr
