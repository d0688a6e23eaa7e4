"""Fixtures of the actor tests: a real in-process Dramatiq worker on its own Redis
namespace, the Telegram Bot API sandbox, users, and processes that are always reaped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import dramatiq
import pytest
import redis

from tests.fakes.cryptopay import run_fake_cryptopay
from tests.fakes.tiktok import run_fake_tiktok
from tests.fakes.youtube import run_fake_youtube
from zenith.actors.registry import ACTOR_MODULES
from zenith.actors.worker import build_worker
from zenith.sandbox import SANDBOX_TOKEN
from zenith.sandbox.server import build_app
from zenith.sandbox.state import SandboxState
from zenith.storage import accounts, users

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn():
    """Start ``[python, *argv]`` from the repo root; every process is killed and reaped after the test."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], *, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        process = subprocess.Popen([sys.executable, *argv], cwd=REPO_ROOT, env=full_env, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def delete_namespace(redis_url: str, namespace: str) -> None:
    """Remove the keys a test created (all under its own namespace)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for name in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(name)
    finally:
        client.close()


@pytest.fixture
def cleanup_namespace(redis_url, namespace):
    yield namespace
    delete_namespace(redis_url, namespace)


@pytest.fixture
async def sandbox():
    """The Telegram Bot API sandbox on a free port: (state, base_url)."""
    from aiohttp import web

    state = SandboxState(token=SANDBOX_TOKEN)
    runner = web.AppRunner(build_app(state))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def fake_youtube():
    with run_fake_youtube() as server:
        yield server


@pytest.fixture
def fake_tiktok():
    with run_fake_tiktok() as server:
        yield server


@pytest.fixture
def fake_cryptopay():
    with run_fake_cryptopay() as server:
        # transfer ids are unique at Crypto Pay; the session's database outlives one fake
        server.state.next_transfer_id = uuid.uuid4().int % 10**12
        yield server


@pytest.fixture
def actor_env(database_url, redis_url, cleanup_namespace, sandbox, fake_youtube, fake_tiktok, fake_cryptopay):
    """Environment of the actors under test (merged into settings and subprocess env)."""
    _, sandbox_url = sandbox
    return {
        "YOUTUBE_API_KEY": fake_youtube.state.api_key,
        "YOUTUBE_API_URL": fake_youtube.url + "/youtube/v3",
        "TIKTOK_BASE_URL": fake_tiktok.url,
        "CRYPTO_PAY_TOKEN": fake_cryptopay.state.token,
        "CRYPTO_PAY_URL": fake_cryptopay.url + "/api",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": cleanup_namespace,
        "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
        "TELEGRAM_API_URL": sandbox_url,
        "ALLOW_PRIVATE_NETWORK": "true",
        "LOG_LEVEL": "INFO",
        "PLATFORM_ANSWER_CACHE_SECONDS": "0",  # tests change a fake's views and check again at once
    }


@pytest.fixture
def running_worker(make_settings, actor_env):
    """Start a real in-process Dramatiq worker: ``async with running_worker(**env) as worker``."""

    @asynccontextmanager
    async def run(*, threads: int = 4, modules=ACTOR_MODULES, **env: str):
        settings = make_settings(**{**actor_env, **env})
        worker = build_worker(
            settings,
            threads=threads,
            worker_timeout_ms=100,
            database_url=settings.database_url,
            redis_url=settings.redis_url,
            modules=modules,
        )
        await asyncio.to_thread(worker.start)
        try:
            yield worker
        finally:
            await asyncio.to_thread(worker.stop, 10_000)
            worker.broker.close()

    return run


async def eventually(check, *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Await ``check()`` (sync or async) until it returns a truthy value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


_next_telegram_id = [int(time.time() * 1000) % 10**9 * 10]


@pytest.fixture
def make_user(pool):
    """Create a user: ``await make_user(language="en", tier="gold", status="active")``."""

    async def create(*, language: str = "en", tier: str = "bronze", status: str = "active") -> users.User:
        _next_telegram_id[0] += 1
        async with pool.connection() as conn:
            user = await users.get_or_create(
                conn, telegram_id=_next_telegram_id[0], language=language, first_name="Creator"
            )
            if tier != "bronze":
                user = await users.set_tier(conn, user_id=user.id, tier=tier)
            if status == "banned":
                user = await users.ban(conn, user_id=user.id)
            elif status == "inactive":
                user = await users.mark_inactive(conn, user_id=user.id)
        return user

    return create


@pytest.fixture
def make_verified_account(pool):
    """Link and verify an account: ``await make_verified_account(user, "youtube", "UC...", handle="chan")``."""

    async def create(
        user: users.User, platform: str, external_id: str, *, handle: str | None = None
    ) -> accounts.PlatformAccount:
        async with pool.connection() as conn:
            account = await accounts.create_pending(
                conn,
                user_id=user.id,
                platform=platform,
                handle=handle or f"h{external_id[-8:].lower()}",
                verification_code="ZM-ABCDEFGH",
                external_id=external_id,
            )
            return await accounts.mark_verified(conn, account_id=account.id, external_id=external_id)

    return create


def new_youtube_id() -> str:
    """A fresh 11-character YouTube video id (the session's database is shared)."""
    return "v" + uuid.uuid4().hex[:10]


def new_channel_id() -> str:
    return "UC" + uuid.uuid4().hex[:22]


def new_tiktok_id() -> str:
    return "7" + str(uuid.uuid4().int)[:18]


def send_with_retries(broker, route, *args, max_retries: int = 1, min_backoff: int = 100) -> dramatiq.Message:
    """Enqueue ``route(*args)`` with per-message retry options, so the last try comes quickly."""
    message = dramatiq.Message(
        queue_name=route.queue_name,
        actor_name=route.actor_name,
        args=tuple(args),
        kwargs={},
        options={"max_retries": max_retries, "min_backoff": min_backoff, "max_backoff": min_backoff * 2},
    )
    return broker.enqueue(message)


@pytest.fixture
def fast_platform_retries(monkeypatch):
    """Platform adapters created by this test's worker retry within milliseconds."""
    from tests.fast_retries import FAST_POLICY

    monkeypatch.setattr("zenith.actors.runtime.PLATFORM_RETRY", FAST_POLICY)
