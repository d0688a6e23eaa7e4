"""Settings from the environment (12-factor, Heroku names), read once into one typed object.

Every setting is declared once in ``SETTINGS`` with its type, default and meaning; the
README's settings table is generated from the same list (``zenith settings``). A missing
or malformed value stops start-up with a ``ConfigError`` that names the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Mapping

# A secret shorter than this is refused at start-up: it could be guessed, and log masking
# (whole tokens, zenith.telemetry.logs) is only safe for values that are not ordinary words.
MIN_SECRET_LENGTH = 16


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _int(raw: str) -> int:
    return int(raw.strip())


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {raw!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean (use true/false): {raw!r}")


def _int_set(raw: str) -> frozenset[int]:
    parts = [p.strip() for p in raw.replace(";", ",").split(",")]
    return frozenset(int(p) for p in parts if p)


def _str_tuple(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _host_map(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _str_tuple(raw):
        host, sep, target = item.partition("=")
        if not sep or not host.strip() or ":" not in target:
            raise ValueError(f"not host=address:port: {item!r}")
        pairs.append((host.strip().lower(), target.strip()))
    return tuple(pairs)


def _url(raw: str) -> str:
    value = raw.strip()
    if "://" not in value:
        raise ValueError(f"not a URL (scheme://...): {raw!r}")
    return value


def _optional_url(raw: str) -> str | None:
    return _url(raw) if raw.strip() else None


def _str(raw: str) -> str:
    return raw


def _optional_str(raw: str) -> str | None:
    return raw if raw.strip() else None


def _level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"not a log level: {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    parse: Callable[[str], Any]
    default: str | None  # None: required
    help: str
    secret: bool = False


# One line per setting. Defaults are strings so they go through the same parser.
SETTINGS: tuple[Setting, ...] = (
    # Servers
    Setting(
        "DATABASE_URL",
        "database_url",
        _optional_url,
        "",
        "PostgreSQL URL; empty: start an embedded PostgreSQL under DATA_DIR",
    ),
    Setting(
        "REDIS_URL",
        "redis_url",
        _optional_url,
        "",
        "Redis URL (cache, rate limits, status, broker); empty: start an embedded Redis under DATA_DIR",
    ),
    Setting(
        "BROKER_URL",
        "broker_url",
        _optional_url,
        "",
        "Dramatiq broker; amqp://... selects RabbitMQ; empty: Redis at REDIS_URL",
    ),
    Setting(
        "REDIS_NAMESPACE",
        "redis_namespace",
        _str,
        "zenith",
        "Prefix of the Redis broker queues and of the actors' Redis keys (rate limits, pauses, rates)",
    ),
    Setting(
        "DATA_DIR",
        "data_dir",
        lambda r: Path(r).expanduser(),
        ".zenith-data",
        "Folder for the embedded PostgreSQL/Redis and status files",
    ),
    Setting("DATABASE_POOL_MIN", "database_pool_min", _int, "1", "Connections kept open per process"),
    Setting("DATABASE_POOL_MAX", "database_pool_max", _int, "10", "Connections at most per process"),
    Setting(
        "DATABASE_DEADLINE_SECONDS",
        "database_deadline_seconds",
        _decimal,
        "5",
        "Seconds one database block of a bot update or an API call may take; beyond, the creator is asked to try again (the API answers 503)",
    ),
    Setting(
        "REDIS_MAX_CONNECTIONS",
        "redis_max_connections",
        _int,
        "64",
        "Redis connections at most of the bot/web process's client; beyond, a command waits (up to 5 s) for a free one",
    ),
    Setting(
        "CACHE_TTL_SECONDS",
        "cache_ttl_seconds",
        _int,
        "60",
        "Seconds a creator's cached stats and video pages live; writes invalidate them at once, the TTL only bounds what a write made while Redis was unreachable leaves behind",
    ),
    Setting(
        "PLATFORM_CONCURRENCY",
        "platform_concurrency",
        _int,
        "32",
        "HTTP calls in flight per platform and worker process (YouTube: 50 ids each); with a slow platform this bounds the checks per second",
    ),
    Setting(
        "PLATFORM_ANSWER_CACHE_SECONDS",
        "platform_answer_cache_seconds",
        _int,
        "30",
        "Seconds a platform's answer for a video is reused by another check of it (a redelivered or re-sent message); 0: always ask the platform",
    ),
    Setting(
        "BOT_MAX_CONCURRENT_UPDATES",
        "bot_max_concurrent_updates",
        _int,
        "0",
        "Telegram updates the bot/web process handles at once (polling waits, the webhook answers 503 beyond); 0: 10 x DATABASE_POOL_MAX",
    ),
    Setting(
        "BOT_THROTTLE_LIMIT",
        "bot_throttle_limit",
        _int,
        "8",
        "Messages and button presses one user may send per BOT_THROTTLE_WINDOW_SECONDS before being told to slow down; 0: no per-user limit",
    ),
    Setting(
        "BOT_THROTTLE_WINDOW_SECONDS",
        "bot_throttle_window_seconds",
        _int,
        "5",
        "Length of the per-user throttle window in seconds",
    ),
    Setting(
        "BOT_USER_ROWS",
        "bot_user_rows",
        _int,
        "100000",
        "Senders' users rows each bot/web process keeps in memory, each dropped when PostgreSQL announces its change; 0: read the sender of every update from PostgreSQL",
    ),
    Setting("PORT", "port", _int, "8080", "HTTP port of the web process (webhook, API, health, metrics)"),
    Setting(
        "WEB_REUSE_PORT",
        "web_reuse_port",
        _bool,
        "false",
        "Open PORT with SO_REUSEPORT so several web processes share it and the kernel spreads connections among them; false: a second process on the port fails to start",
    ),
    Setting(
        "API_RATE_LIMIT_PER_MINUTE",
        "api_rate_limit_per_minute",
        _int,
        "600",
        "Requests a minute an API key may make unless `zenith apikey create --rate-limit` gives it its own limit",
    ),
    Setting(
        "API_MAX_BODY_BYTES",
        "api_max_body_bytes",
        _int,
        "16384",
        "Largest request body the HTTP API reads; a larger one is refused with 413 body_too_large",
    ),
    # Telegram
    Setting(
        "TELEGRAM_BOT_TOKEN",
        "telegram_bot_token",
        _optional_str,
        "",
        "Bot token from @BotFather; empty: use the local Bot API sandbox",
        secret=True,
    ),
    Setting(
        "TELEGRAM_API_URL",
        "telegram_api_url",
        _optional_url,
        "",
        "Bot API base URL (empty: api.telegram.org, or the sandbox when no token is set)",
    ),
    Setting("ADMIN_IDS", "admin_ids", _int_set, "", "Comma-separated Telegram user ids of the admins"),
    Setting(
        "WEBHOOK_URL", "webhook_url", _optional_url, "", "Public HTTPS URL for Telegram updates; empty: long polling"
    ),
    Setting(
        "WEBHOOK_SECRET",
        "webhook_secret",
        _optional_str,
        "",
        "Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token",
        secret=True,
    ),
    Setting(
        "SANDBOX_PORT", "sandbox_port", _int, "8081", "Port of the local Bot API sandbox used when no token is set"
    ),
    Setting(
        "DEFAULT_LANGUAGE",
        "default_language",
        _str,
        "ru",
        "Language for users whose Telegram language is not supported",
    ),
    # Platforms
    Setting("YOUTUBE_API_KEY", "youtube_api_key", _optional_str, "", "YouTube Data API v3 key", secret=True),
    Setting(
        "YOUTUBE_API_URL", "youtube_api_url", _url, "https://www.googleapis.com/youtube/v3", "YouTube Data API base URL"
    ),
    Setting("TIKTOK_BASE_URL", "tiktok_base_url", _url, "https://www.tiktok.com", "TikTok web base URL (video pages)"),
    Setting(
        "INSTAGRAM_BASE_URL",
        "instagram_base_url",
        _url,
        "https://www.instagram.com",
        "Instagram web base URL (reel pages and the profile endpoint)",
    ),
    Setting(
        "ALLOW_PRIVATE_NETWORK",
        "allow_private_network",
        _bool,
        "false",
        "Let the safe HTTP client reach loopback/private addresses (tests and local fakes only)",
    ),
    Setting(
        "HTTP_HOST_MAP",
        "http_host_map",
        _host_map,
        "",
        "Serve allowlisted link hosts from other addresses: 'vm.tiktok.com=127.0.0.1:8090,...' (local fakes; needs ALLOW_PRIVATE_NETWORK)",
    ),
    Setting("HTTP_TIMEOUT_SECONDS", "http_timeout_seconds", _decimal, "10", "Timeout of one outgoing HTTP call"),
    # Crypto Pay
    Setting("CRYPTO_PAY_TOKEN", "crypto_pay_token", _optional_str, "", "Crypto Pay API token of the app", secret=True),
    Setting(
        "CRYPTO_PAY_URL",
        "crypto_pay_url",
        _url,
        "https://pay.crypt.bot/api",
        "Crypto Pay API base URL (mainnet, testnet or local)",
    ),
    Setting("PAYOUT_ASSETS", "payout_assets", _str_tuple, "USDT,TON", "Assets creators can withdraw in"),
    Setting("PAYOUT_MIN_RUB", "payout_min_rub", _decimal, "500", "Smallest withdrawal, in RUB"),
    Setting(
        "GOLD_AUTO_PAYOUT_LIMIT_RUB",
        "gold_auto_payout_limit_rub",
        _decimal,
        "5000",
        "Gold-tier withdrawals up to this amount are approved automatically",
    ),
    Setting(
        "RATE_MAX_AGE_SECONDS",
        "rate_max_age_seconds",
        _int,
        "900",
        "A payout never converts with a rate older than this",
    ),
    Setting(
        "RATE_REFRESH_SECONDS", "rate_refresh_seconds", _int, "300", "How often the clock refreshes exchange rates"
    ),
    # Earnings
    Setting("RATE_PER_1000_RUB", "rate_per_1000_rub", _decimal, "65", "Default earnings per 1,000 views, in RUB"),
    Setting("RATE_CARD", "rate_card", _str, "", "Overrides per platform and tier: 'youtube:gold=80,tiktok:bronze=60'"),
    Setting("MIN_VIEWS", "min_views", _int, "1000", "Views a video needs before it earns anything"),
    Setting("VIDEO_CAP_RUB", "video_cap_rub", _decimal, "50000", "Most one video can earn, in RUB"),
    Setting(
        "FIXED_AMOUNT_PER_VIDEO_RUB",
        "fixed_amount_per_video_rub",
        _decimal,
        "0",
        "If > 0: pay this fixed amount per approved video instead of per view",
    ),
    Setting("TRACKING_DAYS", "tracking_days", _int, "30", "Days after submission that a video's views are tracked"),
    Setting(
        "EARNINGS_DIGEST",
        "earnings_digest",
        _bool,
        "true",
        "Send each creator a daily digest of what each video earned since the last one (a video's first credit is still announced at once, later ones only in the digest; creators can turn it off in the bot); false: credits announced at most once per video per 6 h",
    ),
    Setting(
        "EARNINGS_DIGEST_HOUR_UTC",
        "earnings_digest_hour_utc",
        _int,
        "9",
        "Hour of the day (UTC, 0-23) from which the clock sends the day's digests",
    ),
    Setting(
        "PAY_TIKTOK_PHOTO_POSTS",
        "pay_tiktok_photo_posts",
        _bool,
        "false",
        "Accept TikTok photo posts (/@user/photo/ID) and pay for their views like videos; false: refuse them, saying they are photo posts",
    ),
    Setting(
        "CLOCK_TICK_SECONDS",
        "clock_tick_seconds",
        _decimal,
        "5",
        "Seconds between two rounds of `zenith clock` (due re-checks, rates, payouts)",
    ),
    Setting(
        "CHECK_SCHEDULE",
        "check_schedule",
        _str,
        "0-24h:1h,24h-72h:3h,72h-7d:12h,7d-:24h",
        "Re-check interval by video age (age range:interval)",
    ),
    # Trust layer (docs/trust.md): what a platform returns is evidence, not money
    Setting(
        "TRUST_MAX_VIEWS",
        "trust_max_views",
        _int,
        "20000000000",
        "A view, like or comment count above this is refused as bad data (never credited, never clamped)",
    ),
    Setting(
        "TRUST_MAX_LIKES_PER_VIEW",
        "trust_max_likes_per_view",
        _decimal,
        "1.0",
        "More likes or comments per view than this (plus 100) refuses the answer as inconsistent",
    ),
    Setting(
        "TRUST_SPIKE_FACTOR",
        "trust_spike_factor",
        _decimal,
        "10",
        "New views per hour above this many times the baseline (the video's and the creator's past peak, its lifetime rate) are a spike and go on hold",
    ),
    Setting(
        "TRUST_RATE_FLOOR_PER_HOUR",
        "trust_rate_floor_per_hour",
        _int,
        "1000",
        "The spike baseline is never below this many views per hour",
    ),
    Setting(
        "TRUST_MIN_VIEWS_FOR_SIGNAL",
        "trust_min_views_for_signal",
        _int,
        "5000",
        "Growth of fewer views than this between two checks never makes a signal",
    ),
    Setting(
        "TRUST_MIN_LIKES_PER_VIEW",
        "trust_min_likes_per_view",
        _decimal,
        "0.002",
        "New likes per new view below this is low engagement (held), where the platform shows likes",
    ),
    Setting(
        "TRUST_ENGAGEMENT_MIN_VIEWS",
        "trust_engagement_min_views",
        _int,
        "20000",
        "Engagement is judged only over at least this many new views",
    ),
    Setting(
        "TRUST_LATE_GRACE_HOURS",
        "trust_late_grace_hours",
        _int,
        "24",
        "Growth seen this many hours after the tracking window closed is held as late growth",
    ),
    Setting(
        "TRUST_HOLD_QUIET_DAYS",
        "trust_hold_quiet_days",
        _int,
        "14",
        "A hold with no new signal from its creator for this many days is released automatically (0: only admins release)",
    ),
    Setting(
        "TRUST_RISK_SIGNAL_WEIGHT", "trust_risk_signal_weight", _int, "3", "Risk score per open signal of the creator"
    ),
    Setting(
        "TRUST_RISK_REJECTED_WEIGHT",
        "trust_risk_rejected_weight",
        _int,
        "1",
        "Risk score per rejected item (reversed hold, rejected video) in the creator's history",
    ),
    Setting(
        "TRUST_LOW_RISK_MAX",
        "trust_low_risk_max",
        _int,
        "2",
        "Highest risk score that is low risk; only low-risk Gold creators get automatic video approval and payouts",
    ),
    Setting(
        "TRUST_RISK_WINDOW_DAYS",
        "trust_risk_window_days",
        _int,
        "30",
        "Open signals older than this many days no longer count in the risk score",
    ),
    # Lost messages: PostgreSQL holds the work, the clock re-sends what the broker lost
    Setting(
        "SUBMISSION_RESEND_SECONDS",
        "submission_resend_seconds",
        _decimal,
        "60",
        "A received link not handled this long after its wake-up was due is re-sent by the clock",
    ),
    Setting(
        "SUBMISSION_MAX_RESENDS",
        "submission_max_resends",
        _int,
        "10",
        "Re-sends of one received link before the creator is asked to send it again",
    ),
    Setting(
        "CHECK_RESEND_SECONDS",
        "check_resend_seconds",
        _decimal,
        "60",
        "A claimed check not stored this long after its message was due is re-sent by the clock",
    ),
    Setting(
        "NOTICE_RESEND_SECONDS",
        "notice_resend_seconds",
        _decimal,
        "60",
        "An outbox notice enqueued but not confirmed by the notifications actor this long is relayed again",
    ),
    # Doubtful platform answers
    Setting(
        "CHECK_UNREADABLE_LIMIT",
        "check_unreadable_limit",
        _int,
        "3",
        "Checks in a row whose answer about a video cannot be understood before the video is quarantined for an admin",
    ),
    Setting(
        "VIDEO_GONE_AFTER_CHECKS",
        "video_gone_after_checks",
        _int,
        "3",
        "Checks in a row that must find a video missing before it is declared gone",
    ),
    Setting(
        "VIDEO_GONE_AFTER_HOURS",
        "video_gone_after_hours",
        _decimal,
        "24",
        "Hours from the first of those misses to the last, at least, before a video is declared gone",
    ),
    # Supervisor (zenith supervise / zenith up)
    Setting(
        "SUPERVISOR_POOLS",
        "supervisor_pools",
        _str_tuple,
        "",
        "Pools `zenith supervise` runs, comma-separated; empty: the worker dyno's pools",
    ),
    Setting(
        "SUPERVISOR_POOL_MAX_RESTARTS",
        "supervisor_pool_max_restarts",
        _int,
        "10",
        "Each pool's restart intensity: a pool restarted more often than this within SUPERVISOR_POOL_RESTART_WINDOW is stopped and marked failed",
    ),
    Setting(
        "SUPERVISOR_POOL_RESTART_WINDOW",
        "supervisor_pool_restart_window",
        _decimal,
        "300",
        "Seconds over which each pool's SUPERVISOR_POOL_MAX_RESTARTS is counted",
    ),
    Setting(
        "SUPERVISOR_CRITICAL_POOLS",
        "supervisor_critical_pools",
        _str_tuple,
        "",
        "Pools whose failure stops the whole supervisor with exit 1, comma-separated; empty: a failed pool is stopped and reported while the others keep serving",
    ),
    Setting(
        "SUPERVISOR_BACKOFF_BASE_SECONDS",
        "supervisor_backoff_base_seconds",
        _decimal,
        "0.5",
        "Delay before the first restart of a process; doubles while it keeps crashing",
    ),
    Setting(
        "SUPERVISOR_BACKOFF_CAP_SECONDS",
        "supervisor_backoff_cap_seconds",
        _decimal,
        "30",
        "Longest delay between restarts of a crash-looping process",
    ),
    Setting(
        "SUPERVISOR_HEALTHY_AFTER_SECONDS",
        "supervisor_healthy_after_seconds",
        _decimal,
        "60",
        "A process that ran this long resets its restart backoff",
    ),
    Setting(
        "SUPERVISOR_SHUTDOWN_SECONDS",
        "supervisor_shutdown_seconds",
        _decimal,
        "25",
        "On SIGTERM everything still running after this long is SIGKILLed (Heroku allows 30)",
    ),
    Setting(
        "SUPERVISOR_STATUS_INTERVAL_SECONDS",
        "supervisor_status_interval_seconds",
        _decimal,
        "5",
        "How often the supervisor publishes its status snapshot",
    ),
    # Telemetry and logs
    Setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "otel_exporter_otlp_endpoint",
        _optional_url,
        "",
        "OTLP/HTTP endpoint (Jaeger: http://host:4318); empty: tracing off",
    ),
    Setting(
        "JAEGER_UI_URL",
        "jaeger_ui_url",
        _url,
        "http://localhost:16686",
        "Jaeger UI, for links printed by `zenith trace`",
    ),
    Setting("LOG_LEVEL", "log_level", _level, "INFO", "Log level"),
    Setting("METRICS_PORT", "metrics_port", _int, "0", "Port for /metrics of worker processes (0: off)"),
    Setting(
        "TELEMETRY_USER_ID_SALT",
        "telemetry_user_id_salt",
        _optional_str,
        "",
        "HMAC key for the pseudonymous user ids on spans (empty: the bot token)",
        secret=True,
    ),
    Setting(
        "DEPLOYMENT_ENVIRONMENT",
        "deployment_environment",
        _optional_str,
        "",
        "deployment.environment on traces (e.g. production, staging); empty: left out",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    broker_url: str | None
    redis_namespace: str
    data_dir: Path
    database_pool_min: int
    database_pool_max: int
    database_deadline_seconds: Decimal
    platform_concurrency: int
    redis_max_connections: int
    cache_ttl_seconds: int
    platform_answer_cache_seconds: int
    bot_max_concurrent_updates: int
    bot_throttle_limit: int
    bot_throttle_window_seconds: int
    bot_user_rows: int
    port: int
    web_reuse_port: bool
    api_rate_limit_per_minute: int
    api_max_body_bytes: int
    telegram_bot_token: str | None
    telegram_api_url: str | None
    admin_ids: frozenset[int]
    webhook_url: str | None
    webhook_secret: str | None
    sandbox_port: int
    default_language: str
    youtube_api_key: str | None
    youtube_api_url: str
    tiktok_base_url: str
    instagram_base_url: str
    allow_private_network: bool
    http_host_map: tuple[tuple[str, str], ...]
    http_timeout_seconds: Decimal
    crypto_pay_token: str | None
    crypto_pay_url: str
    payout_assets: tuple[str, ...]
    payout_min_rub: Decimal
    gold_auto_payout_limit_rub: Decimal
    rate_max_age_seconds: int
    rate_refresh_seconds: int
    rate_per_1000_rub: Decimal
    rate_card: str
    min_views: int
    video_cap_rub: Decimal
    fixed_amount_per_video_rub: Decimal
    tracking_days: int
    pay_tiktok_photo_posts: bool
    earnings_digest: bool
    earnings_digest_hour_utc: int
    clock_tick_seconds: Decimal
    check_schedule: str
    trust_max_views: int
    trust_max_likes_per_view: Decimal
    trust_spike_factor: Decimal
    trust_rate_floor_per_hour: int
    trust_min_views_for_signal: int
    trust_min_likes_per_view: Decimal
    trust_engagement_min_views: int
    trust_late_grace_hours: int
    trust_hold_quiet_days: int
    trust_risk_signal_weight: int
    trust_risk_rejected_weight: int
    trust_low_risk_max: int
    trust_risk_window_days: int
    submission_resend_seconds: Decimal
    submission_max_resends: int
    check_resend_seconds: Decimal
    notice_resend_seconds: Decimal
    check_unreadable_limit: int
    video_gone_after_checks: int
    video_gone_after_hours: Decimal
    supervisor_pools: tuple[str, ...]
    supervisor_pool_max_restarts: int
    supervisor_pool_restart_window: Decimal
    supervisor_critical_pools: tuple[str, ...]
    supervisor_backoff_base_seconds: Decimal
    supervisor_backoff_cap_seconds: Decimal
    supervisor_healthy_after_seconds: Decimal
    supervisor_shutdown_seconds: Decimal
    supervisor_status_interval_seconds: Decimal
    otel_exporter_otlp_endpoint: str | None
    jaeger_ui_url: str
    log_level: str
    metrics_port: int
    telemetry_user_id_salt: str | None
    deployment_environment: str | None
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [getattr(self, s.attr) for s in SETTINGS if s.secret]
        return [v for v in values if isinstance(v, str) and v]

    def replace(self, **changes: Any) -> "Settings":
        from dataclasses import replace

        return replace(self, **changes)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting once; raise ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None:
            if setting.default is None:
                raise ConfigError(f"{setting.env} is required: {setting.help}")
            raw = setting.default
        try:
            values[setting.attr] = setting.parse(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{setting.env} is malformed ({exc}); expected: {setting.help}") from None
    for setting in SETTINGS:
        value = values[setting.attr]
        if setting.secret and isinstance(value, str) and len(value.strip()) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{setting.env} is too short ({len(value.strip())} characters): a secret needs at least {MIN_SECRET_LENGTH}, "
                "so it cannot be guessed and masking it in logs cannot hide ordinary words"
            )
    if values["database_pool_min"] < 0 or values["database_pool_max"] < max(1, values["database_pool_min"]):
        raise ConfigError("DATABASE_POOL_MAX must be >= DATABASE_POOL_MIN and >= 1")
    if values["database_deadline_seconds"] <= 0:
        raise ConfigError("DATABASE_DEADLINE_SECONDS must be > 0")
    if values["redis_max_connections"] < 1 or values["bot_max_concurrent_updates"] < 0:
        raise ConfigError("REDIS_MAX_CONNECTIONS must be >= 1 and BOT_MAX_CONCURRENT_UPDATES >= 0")
    if values["bot_throttle_limit"] < 0 or values["bot_throttle_window_seconds"] < 1:
        raise ConfigError("BOT_THROTTLE_LIMIT must be >= 0 and BOT_THROTTLE_WINDOW_SECONDS >= 1")
    if values["bot_user_rows"] < 0:
        raise ConfigError("BOT_USER_ROWS must be >= 0 (0: no users rows kept in memory)")
    if values["api_rate_limit_per_minute"] < 1 or values["api_max_body_bytes"] < 1024:
        raise ConfigError("API_RATE_LIMIT_PER_MINUTE must be >= 1 and API_MAX_BODY_BYTES >= 1024")
    if values["platform_concurrency"] < 1:
        raise ConfigError("PLATFORM_CONCURRENCY must be >= 1")
    if values["cache_ttl_seconds"] < 1 or values["platform_answer_cache_seconds"] < 0:
        raise ConfigError("CACHE_TTL_SECONDS must be >= 1 and PLATFORM_ANSWER_CACHE_SECONDS >= 0")
    if not 0 <= values["port"] <= 65535:
        raise ConfigError(f"PORT is malformed: {values['port']} is not a TCP port")
    if not 0 <= values["earnings_digest_hour_utc"] <= 23:
        raise ConfigError(
            f"EARNINGS_DIGEST_HOUR_UTC is malformed: {values['earnings_digest_hour_utc']} is not an hour (0-23)"
        )
    if (
        values["check_unreadable_limit"] < 1
        or values["video_gone_after_checks"] < 1
        or values["submission_max_resends"] < 0
    ):
        raise ConfigError(
            "CHECK_UNREADABLE_LIMIT and VIDEO_GONE_AFTER_CHECKS must be >= 1, SUBMISSION_MAX_RESENDS >= 0"
        )
    if values["default_language"] not in {"ru", "en"}:
        raise ConfigError("DEFAULT_LANGUAGE is malformed: use ru or en")
    declared = {f.name for f in fields(Settings)} - {"extra"}
    assert declared == {s.attr for s in SETTINGS}, "SETTINGS and Settings disagree"
    return Settings(**values)


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    global _cached
    if _cached is None:
        _cached = load_settings()
    return _cached


def reset_settings_cache() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    global _cached
    _cached = None


def settings_table() -> str:
    """The README's table of settings, in Markdown."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = "(required)" if s.default is None else (f"`{s.default}`" if s.default else "(empty)")
        rows.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows)
