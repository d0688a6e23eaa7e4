"""The benchmarks still run: each script with tiny sizes, checked for the figures it prints.

These prove the scripts work end to end (real processes, database, Redis, sandbox); the
figures themselves are measured with the full sizes (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN_DATABASE_URL

REPO_ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(?:\.\d+)?"


def run_benchmark(script: str, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_bot_vs_echo_prints_both_bots_the_ratio_and_the_webhook_table():
    out = run_benchmark(
        "bot_vs_echo.py",
        "--users",
        "20",
        "--messages",
        "2",
        "--concurrent",
        "4",
        "--latency-messages",
        "2",
        "--webhook-processes",
        "1,2",
        "--webhook-seconds",
        "2",
        "--webhook-connections",
        "4",
    )
    assert re.search(rf"^echo +throughput: 40/40 updates .* = +{NUMBER} updates/s, failed 0", out, re.M), out
    assert re.search(rf"^zenith bot throughput: 40/40 updates .* = +{NUMBER} updates/s, failed 0", out, re.M), out
    assert len(re.findall(r"harness \(sandbox \+ load\) \d+% of a core", out)) == 2, out
    assert re.search(
        rf"RESULT polling: echo {NUMBER} updates/s, zenith bot {NUMBER} updates/s, ratio {NUMBER}x; "
        rf"p99 at 4 users: echo {NUMBER} ms, zenith bot {NUMBER} ms",
        out,
    ), out
    rows = re.findall(rf"^\| ([12]) \| {NUMBER} \| \d+ \| ({NUMBER}) \| (\d+)/(\d+) \| 0 \|", out, re.M)
    assert [row[0] for row in rows] == ["1", "2"], out
    assert all(int(handled) > 0 and handled == accepted for _, _, handled, accepted in rows), out


def _ten_creators_two_messages(*args: str) -> str:
    """bot_vs_echo.py's polling runs only, 10 creators sending 2 messages each, 2 at a time for the latency."""
    return run_benchmark(
        "bot_vs_echo.py", "--users", "10", "--messages", "2", "--concurrent", "2", "--webhook-processes", "", *args
    )


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/run installs it)")
def test_bot_vs_echo_counts_each_bots_instructions_per_update_under_callgrind():
    out = _ten_creators_two_messages("--latency-messages", "1", "--count", "instructions")
    counts = re.findall(
        r"^(echo|zenith bot) +throughput: 20/20 updates .* bot ([\d,]+) instructions/update,", out, re.M
    )
    assert [name for name, _ in counts] == ["echo", "zenith bot"], out
    # answering an update is hundreds of thousands of instructions: a count near zero measured nothing
    assert all(int(count.replace(",", "")) > 50_000 for _, count in counts), out
    assert re.search(
        r"^RESULT instructions per update: echo [\d,]+, zenith bot [\d,]+, echo/zenith \d\.\d{3}$", out, re.M
    ), out


def test_bot_dispatch_cost_prints_the_echo_bot_and_ours_cold_and_warm():
    out = run_benchmark("bot_dispatch_cost.py", "--users", "15", "--rounds", "2", "--concurrency", "4")
    figures = rf" +{NUMBER} us CPU/update, GC +{NUMBER} us \( *{NUMBER} %\), +{NUMBER}x the echo bot$"
    for round_number in ("1", "2"):
        assert re.search(rf"^round {round_number} \(45 updates each, load .*\):$", out, re.M), out
    assert re.search(r"^RESULT median of 2 rounds, heap settled, 4 at a time:$", out, re.M), out
    for label in ("echo bot", "zenith cold", "zenith warm"):
        assert len(re.findall(rf"^  {label}{figures}", out, re.M)) == 3, out  # two rounds and the median


def test_bot_vs_echo_rounds_print_each_pair_and_the_median():
    out = _ten_creators_two_messages("--latency-messages", "2", "--rounds", "2")
    assert len(re.findall(r"^zenith bot throughput: 20/20 updates .* failed 0", out, re.M)) == 2, out
    assert len(re.findall(r"^RESULT polling: echo", out, re.M)) == 2, out
    assert re.search(
        rf"^RESULT polling, median of 2 rounds: ratio {NUMBER}x \({NUMBER}, {NUMBER}\); "
        rf"CPU per update echo {NUMBER} ms, zenith bot {NUMBER} ms$",
        out,
        re.M,
    ), out


def test_due_batch_prints_each_claim_with_ours_and_the_seed_indexes():
    out = run_benchmark("due_batch.py", "--sizes", "5000", "--repeat", "1")
    assert "5,000 videos loaded with COPY" in out, out
    for query in (
        "claim_due_checks youtube 50",
        "claim_due_checks tiktok 20",
        "claim_stale_checks youtube 50",
        "claim_stale_checks tiktok 20",
    ):
        line = re.search(rf"^ +5,000  {query} +({NUMBER}) +({NUMBER}) +{NUMBER}x  (.*)$", out, re.M)
        assert line, (query, out)
        assert "by_platform" in line.group(3), line.group(0)


def test_notice_drain_prints_the_drain_rate():
    out = run_benchmark("notice_drain.py", "--notices", "20", "--per-chat", "2", "--latency", "0", "--threads", "4")
    assert re.search(
        rf"sendMessage latency 0 ms, 2 per chat, 4 threads: 20/20 notices in {NUMBER} s = {NUMBER} notices/s", out
    ), out


def test_pipeline_vs_celery_prints_each_mode_and_the_ratios():
    out = run_benchmark(
        "pipeline_vs_celery.py", "--videos", "30", "--latencies", "0,100", "--threads", "2", "--celery-concurrency", "2"
    )
    for latency in ("0", "100"):
        for label in (
            "baseline \\(Celery\\), 2 processes",
            "ours, tracing off, 2 threads",
            "ours, tracing on, 2 threads",
        ):
            assert re.search(
                rf"^latency +{latency} ms \| {label} +30/30 videos in +{NUMBER} s = +{NUMBER} videos/s \| "
                rf"transfers 30, notices 30 \|"
                + (
                    ""
                    if label.startswith("baseline")
                    else rf" worker CPU {NUMBER} ms/video \| user {NUMBER} \+ system {NUMBER} ms/video, "
                    rf"switches {NUMBER} waiting \+ {NUMBER} preempted per video \|"
                ),
                out,
                re.M,
            ), out
        assert re.search(
            rf"^RESULT latency {latency} ms: .*ours/baseline \(traced\) {NUMBER}x; ours/baseline \(untraced\) {NUMBER}x; "
            rf"traced/untraced {NUMBER}; worker CPU per video untraced {NUMBER} ms, traced {NUMBER} ms, "
            rf"untraced/traced {NUMBER}; load average {NUMBER}$",
            out,
            re.M,
        ), out
    requests = re.search(r"^OTLP export requests received: (\d+)$", out, re.M)
    assert requests and int(requests.group(1)) > 0, out  # the traced runs exported their spans


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/run installs it)")
def test_pipeline_vs_celery_counts_the_workers_instructions_under_callgrind():
    out = run_benchmark(
        "pipeline_vs_celery.py",
        "--videos",
        "20",
        "--latencies",
        "0",
        "--threads",
        "2",
        "--modes",
        "off,on",
        "--count",
        "instructions",
    )
    for label in ("ours, tracing off, 2 threads", "ours, tracing on, 2 threads"):
        line = re.search(
            rf"^latency +0 ms \| {label} +20/20 videos in .* \| worker CPU {NUMBER} ms/video \| "
            r"worker ([\d,]+) instructions/video \|",
            out,
            re.M,
        )
        assert line, out
        # a worker checks a video in millions of instructions: a count near zero measured nothing
        assert int(line.group(1).replace(",", "")) > 100_000, out
    assert re.search(
        r"worker instructions per video untraced [\d,]+, traced [\d,]+, untraced/traced \d\.\d{3};", out
    ), out


def test_round_trip_cost_prints_cpu_and_wall_time_per_call_of_each_kind():
    out = run_benchmark("round_trip_cost.py", "--calls", "100", "--rounds", "1")
    kinds = re.findall(rf"^(.+?) +({NUMBER}) +({NUMBER})$", out, re.M)
    assert [kind for kind, _, _ in kinds] == [
        "redis GET",
        "redis EVALSHA",
        "redis GET, pipelined by 100",
        "postgres SELECT",
        "postgres pool + SELECT",
        "http POST",
    ], out
    assert all(float(cpu) > 0 and float(wall) > 0 for _, cpu, wall in kinds), out


def test_otlp_encoding_prints_both_encoders_and_the_ratio():
    out = run_benchmark("otlp_encoding.py", "--spans", "50", "--rounds", "2")
    assert re.search(rf"protobuf \(SDK\)\s+{NUMBER} us CPU/span .*\| +{NUMBER} bytes/span", out), out
    assert re.search(rf"json \(ours\)\s+{NUMBER} us CPU/span", out), out
    assert re.search(
        rf"RESULT otlp encoding: protobuf {NUMBER} us/span, json {NUMBER} us/span, protobuf/json {NUMBER}x", out
    ), out


def _first_round_and_result(out: str, labels: tuple[str, ...], unit: str, result: str) -> None:
    """Each of ``labels`` printed a "round 1" figure in ``unit``, and the RESULT line matches ``result``."""
    for label in labels:
        assert re.search(rf"^round 1: {label} +{NUMBER} us CPU/{unit}", out, re.M), out
    assert re.search(result, out), out


def test_video_span_cost_prints_each_mode_and_what_tracing_adds():
    out = run_benchmark("video_span_cost.py", "--videos", "200", "--rounds", "1")
    _first_round_and_result(
        out,
        ("off", "sdk", "lean"),
        "video",
        rf"RESULT video span cost: off {NUMBER} us/video, sdk {NUMBER}, lean {NUMBER}; tracing adds -?{NUMBER} "
        rf"us/video with the SDK's spans, -?{NUMBER} with lean spans",
    )


def test_array_params_cost_prints_each_format_and_the_ratios():
    out = run_benchmark(
        "array_params_cost.py", "--rows", "5", "--repeat", "20", "--rounds", "1", "--database-url", ADMIN_DATABASE_URL
    )
    _first_round_and_result(
        out,
        ("text", "auto", "binary"),
        "statement",
        rf"RESULT array params, 5 rows x 8 columns: text {NUMBER} us, auto {NUMBER} us, binary {NUMBER} us; "
        rf"text/binary {NUMBER}x, auto/binary {NUMBER}x",
    )


def test_http_client_cost_prints_both_clients_and_the_ratio():
    out = run_benchmark("http_client_cost.py", "--requests", "50", "--concurrency", "5", "--rounds", "1")
    for client in ("aiohttp", "keep-alive"):
        assert re.search(rf"^round 1: {client} +{NUMBER} us CPU/request, +{NUMBER} requests/s", out, re.M), out
    assert re.search(
        rf"RESULT CPU per request, median of 1 rounds: aiohttp {NUMBER} us, keep-alive client {NUMBER} us", out
    )
