"""Per-process pieces: worker roles, metrics ports per role, URLs on spans, log lines without payloads,
the heap settled after start-up."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import dramatiq
import pytest

from zenith.actors.worker import worker_role
from zenith.telemetry.logs import JsonFormatter, SecretMasker
from zenith.telemetry.metrics import MetricsServerError, role_metrics_port, serve_role_metrics
from zenith.telemetry.tracing import span_url


def test_worker_roles_name_the_queues_or_all():
    assert worker_role(["parsing"]) == "worker-parsing"
    assert worker_role(["submission", "parsing", "parsing"]) == "worker-parsing+submission"
    assert worker_role(None) == "worker-all"
    assert worker_role(["submission", "parsing", "rates", "payouts", "notifications"]) == "worker-all"


def test_each_role_and_process_has_its_own_metrics_port():
    ports = {
        role_metrics_port(9100, role=role, process_index=index)
        for role in (
            "bot",
            "clock",
            "worker-all",
            "worker-submission",
            "worker-parsing",
            "worker-rates",
            "worker-payouts",
            "worker-notifications",
        )
        for index in range(3)
    }
    assert len(ports) == 24
    assert role_metrics_port(9100, role="bot") == 9100
    assert role_metrics_port(9100, role="worker-parsing", process_index=2) == 9142
    assert role_metrics_port(0, role="clock") == 0
    with pytest.raises(MetricsServerError):
        role_metrics_port(9100, role="worker-parsing", process_index=10)
    with pytest.raises(MetricsServerError):
        role_metrics_port(65530, role="worker-notifications")


def _free_port_block() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1] // 100 * 100 - 1000  # some room below the ephemeral port


def test_serve_role_metrics_serves_and_a_taken_port_is_logged_not_raised(make_settings, caplog):
    base = _free_port_block()
    settings = make_settings(METRICS_PORT=str(base))
    served = serve_role_metrics(settings, role="worker-parsing", process_index=1)
    assert served is not None
    server, _ = served
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{base + 41}/metrics", timeout=5).read().decode()
        assert "video_processing_seconds" in body
        with caplog.at_level(logging.ERROR):
            assert serve_role_metrics(settings, role="worker-parsing", process_index=1) is None
        assert "no /metrics for this process" in caplog.text
    finally:
        server.shutdown()


def test_http_span_urls_lose_query_strings_and_bot_tokens():
    assert (
        span_url("https://www.googleapis.com/youtube/v3/videos?key=AIzaSECRET&id=x")
        == "https://www.googleapis.com/youtube/v3/videos"
    )
    assert (
        span_url("https://api.telegram.org/bot123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ/sendMessage")
        == "https://api.telegram.org/bot***/sendMessage"
    )
    assert span_url("https://user:pw@pay.crypt.bot/api/transfer") == "https://pay.crypt.bot/api/transfer"
    assert span_url("https://www.tiktok.com/@bottle/video/7") == "https://www.tiktok.com/@bottle/video/7"


def test_log_lines_show_dramatiq_messages_without_their_arguments():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(role="test", masker=SecretMasker()))
    logger = logging.getLogger("test.dramatiq.payloads")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        message = dramatiq.Message(
            queue_name="submission",
            actor_name="submit_video",
            args=(5, "https://youtu.be/x", "1234567:42:0"),
            kwargs={},
            options={},
        )
        logger.error("Failed to process message %s with unhandled exception.", message)
        logger.error("Received args=%r kwargs=%r.", (5, "1234567:42:0"), {})
        logger.error("plain %s and %d", "text", 3)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (
        lines[0]["message"] == f"Failed to process message submit_video[{message.message_id}] with unhandled exception."
    )
    assert lines[1]["message"] == "Received args=(...) kwargs=(...)."
    assert lines[2]["message"] == "plain text and 3"
    assert "1234567" not in stream.getvalue()


def test_settle_heap_frees_startup_garbage_freezes_the_rest_and_collects_less_often():
    # in a process of its own: a freeze lasts as long as the process
    script = textwrap.dedent(
        """
        import gc, weakref
        from zenith.bootstrap import settle_heap

        class Node:
            kind = 'an object start-up builds'

        kept = [Node() for _ in range(50_000)]    # what start-up keeps for life
        garbage = Node()
        garbage.itself = garbage                   # a cycle start-up dropped
        gone = weakref.ref(garbage)
        del garbage
        gc.disable()                               # so only settle_heap can collect it
        settle_heap()
        young, older, oldest = gc.get_threshold()
        print(gone() is None, gc.get_freeze_count() >= len(kept), sum(gc.get_count()) < 1_000, young, older, oldest)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # the older generations keep Python's thresholds
    assert result.stdout.split() == ["True", "True", "True", "10000", "10", "10"], result.stdout + result.stderr
