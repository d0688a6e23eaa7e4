"""`zenith up`: everything on one machine (or one dyno) under one supervisor.

Resolves the servers (an embedded PostgreSQL / Redis under DATA_DIR when DATABASE_URL /
REDIS_URL are not set; their URLs are exported so every child uses the same ones),
applies the migrations, then supervises every pool: the worker pools, clock, bot and
web, plus the local Bot API sandbox when TELEGRAM_BOT_TOKEN is not set. The embedded
servers live as long as this process, which is the supervisor, and are stopped when it
exits; after a SIGKILL the next `zenith up` reuses them (see zenith.storage.embedded).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from zenith.config import Settings, get_settings
from zenith.supervisor.main import supervise, supervisor_lifetime
from zenith.supervisor.specs import default_pools, up_pool_names

logger = logging.getLogger("zenith.supervisor")

EXIT_STARTUP_FAILED = 1


def integrations(settings: Settings, *, sandbox: bool) -> dict[str, str]:
    """Which outside services this configuration reaches: name -> what is used, or why not.

    Parameters:
      settings: the process settings.
      sandbox: whether the local Bot API sandbox runs (no TELEGRAM_BOT_TOKEN).
    """
    from zenith.storage.db import redact_url

    if sandbox:
        telegram = "Bot API sandbox (no TELEGRAM_BOT_TOKEN)"
    else:
        telegram = f"real bot at {redact_url(settings.telegram_api_url or 'https://api.telegram.org')}"
    return {
        "telegram": telegram,
        "youtube": f"configured ({settings.youtube_api_url})"
        if settings.youtube_api_key
        else "not configured (no YOUTUBE_API_KEY: YouTube links are answered 'not configured')",
        "tiktok": f"pages from {settings.tiktok_base_url}",
        "crypto_pay": f"configured ({settings.crypto_pay_url})"
        if settings.crypto_pay_token
        else "not configured (no CRYPTO_PAY_TOKEN: no rate refresh, payouts held in 'approved')",
        "otlp": f"traces to {redact_url(settings.otel_exporter_otlp_endpoint)}"
        if settings.otel_exporter_otlp_endpoint
        else "off (no OTEL_EXPORTER_OTLP_ENDPOINT)",
    }


def run_up(args: argparse.Namespace) -> int:
    """`zenith up [--no-migrate]`: exit code of the supervisor, or 1 if start-up failed.

    The embedded servers it started are stopped on the way out (after every child has
    stopped), whatever the exit path.
    """
    from zenith.storage.embedded import stop_embedded_servers

    try:
        settings = get_settings()
        with supervisor_lifetime(settings):
            return _run_up(args, settings)
    finally:
        stop_embedded_servers()


def _run_up(args: argparse.Namespace, settings: Settings) -> int:
    names = up_pool_names(settings)
    found = integrations(settings, sandbox="sandbox" in names)
    logger.info(
        "zenith up: Telegram %s; YouTube %s; TikTok %s; Crypto Pay %s; OTLP %s",
        found["telegram"],
        found["youtube"],
        found["tiktok"],
        found["crypto_pay"],
        found["otlp"],
        extra={"event": "up_integrations", **found},
    )
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
        logger.info(
            "zenith up: %d migration(s) applied",
            len(applied),
            extra={"event": "up_migrated", "applied": ",".join(applied)},
        )
    resolved = settings.replace(database_url=database_url, redis_url=redis_url)
    return supervise(default_pools(resolved, names=names), settings=resolved)
