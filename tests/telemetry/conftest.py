"""Fixtures for telemetry tests: an in-memory span exporter and a Redis broker of the test's own.

The end-to-end trace tests reuse the bot tests' fixtures (sandbox, polling bot, fakes,
in-process worker with every actor) and replace only ``broker``: the bot's messages go
through the telemetry middleware, with tracing (libraries instrumented) into memory.
"""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.bot.conftest import (  # noqa: F401 -- fixtures, reused as they are
    bot_env,
    bot_settings,
    e2e_bot,
    e2e_env,
    e2e_settings,
    fakes,
    make_bot,
    redis,
    sandbox,
    worker,
)
from zenith.messaging.broker import build_broker
from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware
from zenith.telemetry.metrics import ZenithMetrics
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing


@pytest.fixture
def span_exporter(make_settings):
    """Tracing on for this test, into memory (library instrumentation off: quieter spans)."""
    exporter = InMemorySpanExporter()
    setup_tracing(make_settings(), role="test", exporter=exporter, instrument_libraries=False)
    yield exporter
    shutdown_tracing()


@pytest.fixture
def pipeline_spans(make_settings):
    """Tracing on, into memory, with psycopg, Redis and aiohttp-client instrumented (as in production)."""
    exporter = InMemorySpanExporter()
    setup_tracing(make_settings(), role="test-pipeline", exporter=exporter)
    yield exporter
    shutdown_tracing()


@pytest.fixture
def broker(pipeline_spans, bot_settings, redis_url, namespace, redis):
    """The bot's broker, traced like the bot process's own; tracing is on before the worker starts."""
    broker = build_broker(bot_settings, redis_url=redis_url, namespace=namespace)
    install_telemetry_middleware(broker, metrics=False)
    yield broker
    broker.close()


@pytest.fixture
def metrics() -> ZenithMetrics:
    return ZenithMetrics.create()


@pytest.fixture
def traced_broker(redis_url, namespace, metrics):
    """A real Redis broker in the test's namespace, with the telemetry middleware and AsyncIO."""
    broker = RedisBroker(url=redis_url, namespace=namespace)
    broker.add_middleware(AsyncIO())
    install_telemetry_middleware(broker, metrics=metrics)
    dramatiq.set_broker(broker)
    yield broker
    client = broker.client
    for key in client.scan_iter(match=f"{namespace}:*"):  # only this test's keys
        client.delete(key)
    broker.close()


@pytest.fixture
def run_worker(traced_broker):
    """Start an in-process Worker on the test broker; stopped at the end of the test."""
    workers: list[dramatiq.Worker] = []

    def start(**kwargs) -> dramatiq.Worker:
        worker = dramatiq.Worker(traced_broker, worker_timeout=50, **kwargs)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for started in workers:
        started.stop()


@pytest.fixture
def aiohttp_client_factory():
    """Serve an aiohttp app on 127.0.0.1 and hand out (session, base_url)."""
    from contextlib import asynccontextmanager

    import aiohttp
    from aiohttp import web

    @asynccontextmanager
    async def serve(app: web.Application):
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as session:
                yield session, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()

    return serve
