"""`zenith bot` (long polling) and `zenith web` (webhook) as real processes against the sandbox.

The sandbox runs in a background thread of the test; the bot process reaches it through
TELEGRAM_API_URL with the sandbox's token, exactly as it would reach api.telegram.org.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis as sync_redis

from tests.bot.conftest import new_telegram_id
from zenith.sandbox.runner import start_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "process-test-secret_1"


@pytest.fixture
def threaded_sandbox():
    with start_sandbox() as handle:
        yield handle


@pytest.fixture
def process_env(database_url, redis_url, namespace, threaded_sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "TELEGRAM_", "OTEL_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        REDIS_NAMESPACE=namespace,
        TELEGRAM_BOT_TOKEN=threaded_sandbox.token,
        TELEGRAM_API_URL=threaded_sandbox.url,
        DATA_DIR="/tmp/zenith-bot-tests",
        LOG_LEVEL="INFO",
    )
    yield env
    client = sync_redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{namespace}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def spawn(tmp_path):
    """Start ``python -m zenith ARGS``; every process is stopped (SIGTERM, then SIGKILL) and reaped."""
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen:
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "zenith", *args], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log))
        return process

    start.logs = lambda: "\n".join(log.read_text(errors="replace")[-4000:] for _, log in started)
    yield start
    for process, _ in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, *, timeout: float, process: subprocess.Popen, logs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"process exited with {process.returncode}:\n{logs()}"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{logs()}")


def test_zenith_bot_polls_and_answers_start(process_env, threaded_sandbox, spawn):
    process = spawn("bot", env=process_env)
    uid = new_telegram_id()
    threaded_sandbox.state.user_sends_text(uid, "/start", first_name="Proc", language_code="en")
    try:
        welcome = threaded_sandbox.state.wait_for_message(uid, contains="Hi", timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{spawn.logs()}") from None
    assert "Proc" in welcome.text
    assert "getUpdates" in threaded_sandbox.state.calls and "setMyCommands" in threaded_sandbox.state.calls
    assert _stop(process) == 0, spawn.logs()


def test_zenith_web_registers_its_webhook_and_checks_the_secret(process_env, threaded_sandbox, spawn):
    port = _free_port()
    webhook = f"http://127.0.0.1:{port}/telegram/webhook"
    env = {**process_env, "PORT": str(port), "WEBHOOK_URL": webhook, "WEBHOOK_SECRET": SECRET}
    process = spawn("web", env=env)
    _wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30, process=process, logs=spawn.logs)
    deadline = time.monotonic() + 10
    while "setWebhook" not in threaded_sandbox.state.calls:
        assert time.monotonic() < deadline, f"no setWebhook:\n{spawn.logs()}"
        time.sleep(0.1)

    # Telegram (the sandbox) pushes the user's message to the webhook with the secret
    uid = new_telegram_id()
    threaded_sandbox.state.user_sends_text(uid, "/start", first_name="Hook", language_code="en")
    welcome = threaded_sandbox.state.wait_for_message(uid, contains="Hi", timeout=20)
    assert "Hook" in welcome.text

    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": uid, "type": "private"}, "text": "/start"},
    }
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        request = urllib.request.Request(
            webhook,
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
    assert _stop(process) == 0, spawn.logs()
