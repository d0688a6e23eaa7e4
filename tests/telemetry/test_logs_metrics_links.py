"""JSON logs (trace ids, masking), the metrics registry and its endpoints, linked root spans."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

import pytest
from aiohttp import web
from opentelemetry import trace

from zenith.telemetry.attributes import hashed_user_id, user_attributes, video_attributes
from zenith.telemetry.links import InvalidTraceId, link_to_trace, start_linked_root_span
from zenith.telemetry.logs import setup_logging
from zenith.telemetry.metrics import (
    METRICS_REGISTRY_KEY,
    MetricsServerError,
    ZenithMetrics,
    metrics_handler,
    metrics_port_for,
    start_metrics_server,
)
from zenith.telemetry.tracing import service_name, tracer

BOT_TOKEN = "7001234567:AAHk2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVw"
OTHER_TOKEN_SHAPE = "123456789:abcdefghijklmnopqrstuvwxyz_ABCDEF-12"


@pytest.fixture
def log_lines(make_settings):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    setup_logging(
        make_settings(TELEGRAM_BOT_TOKEN=BOT_TOKEN, YOUTUBE_API_KEY="AIzaSyD-secret-key-value"),
        role="worker-test",
        stream=stream,
    )
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_log_lines_are_json_with_trace_ids_and_masked_secrets(log_lines, span_exporter):
    log = logging.getLogger("zenith.test")
    log.info("outside any span")
    with tracer().start_as_current_span("work") as span:
        log.warning(
            "calling https://api.telegram.org/bot%s/getMe key=%s",
            BOT_TOKEN,
            "AIzaSyD-secret-key-value",
            extra={"video_id": 42, "url": f"x{OTHER_TOKEN_SHAPE}"},
        )
        try:
            raise ValueError(f"bad token {BOT_TOKEN}")
        except ValueError:
            logging.getLogger("dramatiq.worker").exception("actor failed")
    outside, warning, error = [line for line in log_lines() if line["logger"] in ("zenith.test", "dramatiq.worker")]

    assert "trace_id" not in outside and outside["role"] == "worker-test" and outside["level"] == "INFO"
    assert outside["ts"].endswith("+00:00") and isinstance(outside["pid"], int)
    context = span.get_span_context()
    for line in (warning, error):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert warning["message"] == "calling https://api.telegram.org/bot***/getMe key=***"
    assert warning["video_id"] == 42 and warning["url"] == "x***"
    assert error["logger"] == "dramatiq.worker"
    assert "ValueError: bad token ***" in error["exc_info"]
    everything = json.dumps(log_lines())
    assert BOT_TOKEN not in everything and "AIzaSyD-secret" not in everything and OTHER_TOKEN_SHAPE not in everything


def test_linked_root_span_starts_a_new_trace_linked_to_the_first(span_exporter):
    first = "0af7651916cd43dd8448eb211c80319c"
    with tracer().start_as_current_span("clock tick") as tick:
        with start_linked_root_span("recheck video", first, "b7ad6b7169203331", video_attributes(7, "tiktok")) as span:
            assert trace.get_current_span() is span
    (recheck,) = [s for s in span_exporter.get_finished_spans() if s.name == "recheck video"]
    assert recheck.parent is None
    assert recheck.context.trace_id not in (int(first, 16), tick.get_span_context().trace_id)
    (link,) = recheck.links
    assert (format(link.context.trace_id, "032x"), format(link.context.span_id, "016x")) == (first, "b7ad6b7169203331")
    assert recheck.attributes["zenith.video_id"] == 7 and recheck.attributes["zenith.platform"] == "tiktok"

    with start_linked_root_span("recheck video", first):
        pass
    trace_only = span_exporter.get_finished_spans()[-1]
    assert [format(link.context.trace_id, "032x") for link in trace_only.links] == [first]
    with pytest.raises(InvalidTraceId):
        link_to_trace("not-hex")


def test_user_ids_are_pseudonymous_and_salted(make_settings):
    salted = make_settings(TELEMETRY_USER_ID_SALT="salt-number-one-for-tests")
    other = make_settings(TELEMETRY_USER_ID_SALT="salt-number-two-for-tests")
    value = hashed_user_id(123456789, settings=salted)
    assert len(value) == 16 and "123456789" not in value
    assert value == hashed_user_id(123456789, settings=salted)
    assert value != hashed_user_id(123456789, settings=other)
    assert user_attributes(123456789, settings=salted) == {"zenith.user_hash": value}
    assert video_attributes(5) == {"zenith.video_id": 5}
    assert service_name("bot") == "zenith-bot" and service_name("zenith-web") == "zenith-web"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_server_exposes_every_series():
    metrics = ZenithMetrics.create()
    metrics.video_submissions.labels(platform="youtube", status="accepted").inc()
    metrics.video_processing_seconds.labels(platform="youtube").observe(2.5)
    metrics.active_users.set(3)
    metrics.queue_depth.labels(queue="parsing").set(11)
    metrics.payouts.labels(status="paid").inc()
    metrics.platform_errors.labels(platform="tiktok", kind="timeout").inc()
    metrics.dramatiq_messages.labels(queue="parsing", actor="check_videos", outcome="success").inc()
    port = _free_port()
    server, thread = start_metrics_server(port, registry=metrics.registry, addr="127.0.0.1")
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        with pytest.raises(MetricsServerError):
            start_metrics_server(port, registry=metrics.registry, addr="127.0.0.1")
    finally:
        server.shutdown()
        server.server_close()
    for series in (
        'video_submissions_total{platform="youtube",status="accepted"} 1.0',
        'video_processing_seconds_bucket{le="3.0",platform="youtube"} 1.0',
        "active_users 3.0",
        'queue_depth{queue="parsing"} 11.0',
        'payouts_total{status="paid"} 1.0',
        'platform_errors_total{kind="timeout",platform="tiktok"} 1.0',
        'dramatiq_messages_total{actor="check_videos",outcome="success",queue="parsing"} 1.0',
    ):
        assert series in body
    assert start_metrics_server(0) is None
    assert metrics_port_for(9100, process_index=2) == 9102 and metrics_port_for(0, process_index=2) == 0


async def test_metrics_handler_serves_the_app_registry(aiohttp_client_factory):
    metrics = ZenithMetrics.create()
    metrics.payouts.labels(status="failed").inc()
    app = web.Application()
    app[METRICS_REGISTRY_KEY] = metrics.registry
    app.router.add_get("/metrics", metrics_handler)
    async with aiohttp_client_factory(app) as (session, base):
        async with session.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            assert 'payouts_total{status="failed"} 1.0' in await response.text()


def test_secrets_are_masked_as_whole_tokens_never_inside_words():
    from zenith.telemetry.logs import SecretMasker

    secret = "xception-Key_0123"
    masker = SecretMasker([secret, "cryptopay-token-abcdef"])
    assert masker.mask(f"GET /v3/videos?key={secret}&id=1") == "GET /v3/videos?key=***&id=1"
    assert masker.mask(f'{{"token": "{secret}"}} and {secret}.') == '{"token": "***"} and ***.'
    assert masker.mask(f"https://api.telegram.org/bot{secret}/getMe") == "https://api.telegram.org/bot***/getMe"
    # the same letters inside a longer word are not the secret: the text stays readable
    assert masker.mask(f"an e{secret}s error in my_{secret}") == f"an e{secret}s error in my_{secret}"
    assert masker.mask("cryptopay-token-abcdef-2 and cryptopay-token-abcdef") == "***-2 and ***"


@pytest.mark.parametrize(
    "variable",
    ["TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET", "YOUTUBE_API_KEY", "CRYPTO_PAY_TOKEN", "TELEMETRY_USER_ID_SALT"],
)
def test_a_secret_shorter_than_the_minimum_stops_start_up_naming_the_variable(make_settings, variable):
    from zenith.config import MIN_SECRET_LENGTH, ConfigError

    with pytest.raises(
        ConfigError, match=rf"^{variable} is too short \(3 characters\): a secret needs at least {MIN_SECRET_LENGTH}"
    ):
        make_settings(**{variable: "exc"})
    assert make_settings(**{variable: "e" * MIN_SECRET_LENGTH}).secrets() == ["e" * MIN_SECRET_LENGTH]
    assert make_settings(**{variable: ""}).secrets() == []
