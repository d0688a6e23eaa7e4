"""`zenith up`: everything on one machine (or one dyno) under one supervisor.

Resolves the servers (an embedded PostgreSQL / Redis under DATA_DIR when DATABASE_URL /
REDIS_URL are not set; their URLs are exported so every child uses the same ones),
applies the migrations, then supervises every pool: the worker pools, clock, bot and
web, plus the local Bot API sandbox when TELEGRAM_BOT_TOKEN is not set. The embedded
servers live as long as this process, which is the supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from zenith.config import get_settings
from zenith.supervisor.main import configure_logging, supervise
from zenith.supervisor.specs import default_pools, up_pool_names

logger = logging.getLogger("zenith.supervisor")

EXIT_STARTUP_FAILED = 1


def run_up(args: argparse.Namespace) -> int:
    """`zenith up [--no-migrate]`: exit code of the supervisor, or 1 if start-up failed."""
    settings = get_settings()
    configure_logging(settings)
    from zenith.storage.db import redact_url
    from zenith.storage.embedded import EmbeddedServerError, resolve_database_url, resolve_redis_url
    from zenith.storage.migrate import MigrationError, apply_migrations

    try:
        database_url = resolve_database_url(settings)
        redis_url = resolve_redis_url(settings)
    except EmbeddedServerError as exc:
        logger.error("zenith up: %s", exc, extra={"event": "up_failed"})
        return EXIT_STARTUP_FAILED
    # Children inherit the environment: they must reach the same servers.
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    names = up_pool_names(settings)
    logger.info(
        "zenith up: PostgreSQL %s (%s), Redis %s (%s), Telegram %s",
        "external" if settings.database_url else "embedded",
        redact_url(database_url),
        "external" if settings.redis_url else "embedded",
        redact_url(redis_url),
        "Bot API sandbox (no TELEGRAM_BOT_TOKEN)" if "sandbox" in names else "real Bot API",
        extra={
            "event": "up_servers",
            "database": "external" if settings.database_url else "embedded",
            "redis": "external" if settings.redis_url else "embedded",
            "sandbox": "sandbox" in names,
        },
    )
    if not args.no_migrate:
        try:
            applied = asyncio.run(apply_migrations(database_url))
        except MigrationError as exc:
            logger.error("zenith up: migrations failed: %s", exc, extra={"event": "up_failed"})
            return EXIT_STARTUP_FAILED
        logger.info("zenith up: %d migration(s) applied", len(applied), extra={"event": "up_migrated", "applied": ",".join(applied)})
    resolved = settings.replace(database_url=database_url, redis_url=redis_url)
    return supervise(default_pools(resolved, names=names), settings=resolved)
