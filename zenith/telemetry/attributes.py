"""Span attribute helpers shared by the bot, the web process and the actors.

Every span about a video carries ``zenith.video_id`` and ``zenith.platform`` so Jaeger can
find all traces of one video by tag. Telegram user ids are personal data: they are only
ever exported as a salted HMAC (``zenith.user_hash``), never in clear.
"""

from __future__ import annotations

import hashlib
import hmac

from opentelemetry import trace

from zenith.config import Settings, get_settings

VIDEO_ID = "zenith.video_id"
PLATFORM = "zenith.platform"
USER_HASH = "zenith.user_hash"

# Used only when neither TELEMETRY_USER_ID_SALT nor TELEGRAM_BOT_TOKEN is set, i.e. in
# local development against the sandbox, where there are no real users to protect.
DEVELOPMENT_SALT = "zenith-development-user-id-salt"
USER_HASH_HEX_CHARS = 16


def video_attributes(video_id: int, platform: str | None = None) -> dict[str, int | str]:
    """Attributes naming one video.

    Parameters:
      video_id(int): The video's row id (``videos.id``).
      platform(str|None): "youtube" or "tiktok"; left out when not known yet.
    """
    attributes: dict[str, int | str] = {VIDEO_ID: int(video_id)}
    if platform:
        attributes[PLATFORM] = str(platform)  # a plain str: a Platform member would be cleaned on every span
    return attributes


def user_id_salt(settings: Settings) -> str:
    """The HMAC key for user ids: TELEMETRY_USER_ID_SALT, else the bot token, else a dev constant."""
    return settings.telemetry_user_id_salt or settings.telegram_bot_token or DEVELOPMENT_SALT


def hashed_user_id(telegram_id: int, *, settings: Settings | None = None) -> str:
    """A stable pseudonym for a Telegram user id: HMAC-SHA256, first 16 hex characters.

    The same id gives the same pseudonym in every process that shares the salt, so one
    creator's traces can be correlated without exporting who they are.

    Parameters:
      telegram_id(int): The Telegram user id.
      settings(Settings|None): Where the salt comes from; defaults to ``get_settings()``.
    """
    salt = user_id_salt(settings or get_settings())
    digest = hmac.new(salt.encode(), str(int(telegram_id)).encode(), hashlib.sha256)
    return digest.hexdigest()[:USER_HASH_HEX_CHARS]


def user_attributes(telegram_id: int, *, settings: Settings | None = None) -> dict[str, str]:
    """``{"zenith.user_hash": hashed_user_id(telegram_id)}``."""
    return {USER_HASH: hashed_user_id(telegram_id, settings=settings)}


def current_trace_id_hex() -> str | None:
    """The 32-hex-digit trace id of the active span, or None when there is none or it is not sampled.

    Store it on the video row (``videos.trace_id``) so `zenith trace` can link to Jaeger. A
    trace left out by head sampling (``OTEL_TRACES_SAMPLER_ARG`` < 1) is never exported, so
    its id would be a dead link: None instead.
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return trace.format_trace_id(context.trace_id)


def current_span_id_hex() -> str | None:
    """The 16-hex-digit span id of the active span, or None."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_span_id(context.span_id)
