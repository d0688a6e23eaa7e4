"""Shared fixtures: real PostgreSQL and Redis, isolated per test run.

Each test session gets its own PostgreSQL database (created here, dropped at the end)
and each test its own Redis key namespace, so several runs can share one server.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import psycopg
import pytest

from zenith.config import Settings, load_settings

ADMIN_DATABASE_URL = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _database_url(name: str) -> str:
    base, _, _ = ADMIN_DATABASE_URL.rpartition("/")
    return f"{base}/{name}"


def create_database(prefix: str = "zenith_test") -> str:
    """Create an empty database with a unique name and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _database_url(name)


def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database_url():
    """A fresh database with no tables, dropped after the test."""
    url = create_database()
    yield url
    drop_database(url)


def create_migrated_database(prefix: str = "zenith_test") -> str:
    """Create a fresh database, apply every migration to it and return its URL."""
    from zenith.storage.migrate import apply_migrations

    url = create_database(prefix)
    try:
        asyncio.run(apply_migrations(url))
    except BaseException:
        drop_database(url)
        raise
    return url


@pytest.fixture(scope="session")
def database_url():
    """A database migrated once for the whole test session and dropped at its end.

    Shared by every test of the session: tests must not assume empty tables (use
    unique telegram ids, count only their own rows). Use ``clean_database_url`` for a
    test that needs an empty slate.
    """
    url = create_migrated_database()
    yield url
    drop_database(url)


@pytest.fixture(autouse=True)
def notices_end_with_their_test(request):
    """After a test on the session database, its notices still waiting for a confirmation
    are stamped sent: the notifications actor that would confirm them stopped with the
    test, and the next test's clock would otherwise relay them into its own namespace,
    where they only queue ahead of that test's own notices."""
    yield
    if "database_url" not in request.fixturenames:
        return
    with psycopg.connect(request.getfixturevalue("database_url"), autocommit=True) as conn:
        conn.execute("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL")


@pytest.fixture
def clean_database_url():
    """A fresh migrated database of this test's own, dropped after it."""
    url = create_migrated_database()
    yield url
    drop_database(url)


@pytest.fixture
async def pool(database_url):
    """An async connection pool (dict rows, autocommit) on the session database."""
    from zenith.storage.db import open_pool

    db_pool = await open_pool(database_url, min_size=1, max_size=10, name="test")
    try:
        yield db_pool
    finally:
        await db_pool.close()


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def namespace() -> str:
    """A Redis key namespace of this test's own (broker queues, cache, status)."""
    return f"zt-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_settings():
    """Settings from a dict of environment variables, on top of safe test defaults."""

    def factory(**env: str) -> Settings:
        # answers are not reused: tests change a fake's views and check again at once
        base = {"LOG_LEVEL": "INFO", "ALLOW_PRIVATE_NETWORK": "true", "PLATFORM_ANSWER_CACHE_SECONDS": "0"}
        base.update(env)
        return load_settings(base)

    return factory
