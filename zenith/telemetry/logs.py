"""JSON log lines on stderr: one object per line, with trace ids and no secrets.

Every record of the process (ours, Dramatiq's, aiogram's, aiohttp's) goes through one
handler on the root logger. Fields: ts (ISO 8601, UTC), level, logger, message, role,
pid, trace_id / span_id (hex, while a span is current), video_id / platform / payout_id
(the work's subject, see ``zenith.telemetry.subject``), exc_info (formatted traceback),
plus whatever the call passed with ``extra={...}``. Secret setting values and anything
shaped like a Telegram bot token are replaced by "***" in every field.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, TextIO, TypeGuard

from opentelemetry import trace

from zenith.config import Settings

if TYPE_CHECKING:  # recognised by its attributes: a process without Dramatiq never imports it
    import dramatiq
from zenith.telemetry.subject import subject_of

MASK = "***"
BOT_TOKEN_PATTERN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
# Loggers that some libraries configure with their own handlers; routed to ours instead.
LIBRARY_LOGGERS = ("dramatiq", "aiogram", "aiohttp", "asyncio", "psycopg", "psycopg.pool", "opentelemetry")

DRAMATIQ_ACTOR_ARGS_FORMAT = "Received args=%r kwargs=%r."
# Library lines logged at ERROR for a moment that passes by itself (nobody must act):
# (logger, start of the message format) -> logged at WARNING instead.
PASSING_LIBRARY_ERRORS = (
    ("aiogram.dispatcher", "Failed to fetch updates"),  # Telegram or the network blinked; polling goes on
)
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class PassingLibraryErrors(logging.Filter):
    """Lowers the library ERROR lines of `PASSING_LIBRARY_ERRORS` to WARNING.

    Installed on the library's logger, so every handler sees the lowered level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and isinstance(record.msg, str)
            and any(record.name == name and record.msg.startswith(prefix) for name, prefix in PASSING_LIBRARY_ERRORS)
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class SecretMasker:
    """Replaces known secret values, as whole tokens, and bot-token-shaped strings with "***".

    A secret is masked where it stands as a token of its own: not glued to letters, digits
    or "_" on either side ("key=SECRET&", "/botSECRET/getMe" counts: Bot API URLs put the
    token right after "/bot"). So a secret that happens to be a piece of a word never
    turns ordinary text into "e***ception"; settings refuse secrets shorter than
    ``zenith.config.MIN_SECRET_LENGTH`` anyway.

    Parameters:
      secrets(Iterable[str]): Values to hide (``settings.secrets()``); longest first, so
        a secret containing another is hidden whole.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(_whole_token(secret) for secret in self.secrets)) if self.secrets else None

    def mask(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return BOT_TOKEN_PATTERN.sub(MASK, text)


def _whole_token(secret: str) -> str:
    """A regex matching ``secret`` only where no word character touches it (or after "/bot")."""
    before = r"(?:(?<=/bot)|(?<!\w))" if re.match(r"\w", secret) else ""
    after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return f"{before}{re.escape(secret)}{after}"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (see the module docstring).

    Parameters:
      role(str): The process role, on every line.
      masker(SecretMasker): Applied to the message, the traceback and every extra value.
    """

    def __init__(self, *, role: str, masker: SecretMasker) -> None:
        super().__init__()
        self.role = role
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        mask = self.masker.mask
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(_message_without_payloads(record)),
            "role": self.role,
            "pid": record.process or os.getpid(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = trace.format_trace_id(span_context.trace_id)
            entry["span_id"] = trace.format_span_id(span_context.span_id)
        for key, value in subject_of().items():  # zenith.video_id -> "video_id"
            entry.setdefault(key.removeprefix("zenith."), value)
        if record.exc_info:
            entry["exc_info"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc_info"] = mask(record.exc_text)
        if record.stack_info:
            entry["stack_info"] = mask(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if key in _RECORD_FIELDS or key in entry or key.startswith("_"):
                continue
            entry[key] = _masked_value(value, mask)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _is_dramatiq_message(value: Any) -> TypeGuard[dramatiq.Message[Any]]:
    return (
        hasattr(value, "actor_name")
        and hasattr(value, "message_id")
        and hasattr(value, "args")
        and hasattr(value, "options")
    )


def _message_without_payloads(record: logging.LogRecord) -> str:
    """``record.getMessage()``, with any Dramatiq message argument shown as ``actor[message id]``.

    Dramatiq logs a failed message as ``actor(arg, ...)``; the arguments are personal data
    (a submission's request id starts with the Telegram user id) and stay out of the logs.
    """
    if record.msg == DRAMATIQ_ACTOR_ARGS_FORMAT:  # Actor.__call__'s debug line
        return "Received args=(...) kwargs=(...)."
    args = record.args
    if isinstance(args, tuple) and any(_is_dramatiq_message(arg) for arg in args):
        safe = tuple(f"{arg.actor_name}[{arg.message_id}]" if _is_dramatiq_message(arg) else arg for arg in args)
        return str(record.msg) % safe
    return record.getMessage()


def _masked_value(value: Any, mask) -> Any:
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, str):
        return mask(value)
    # Containers and objects are logged as their masked JSON/str form, never raw.
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    masked = mask(text)
    if masked == text:
        return json.loads(text) if isinstance(value, (dict, list, tuple)) else text
    return masked


def setup_logging(settings: Settings, *, role: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process to ``stream`` (default stderr) as JSON lines.

    Parameters:
      settings(Settings): LOG_LEVEL, and the secrets to mask (``settings.secrets()``).
      role(str): The process role written on each line ("bot", "worker-parsing", ...).
      stream(TextIO|None): Where lines go. Default ``sys.stderr``.

    Replaces the root logger's handlers; library loggers lose their own handlers and
    propagate to the root. Returns the installed handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(role=role, masker=SecretMasker(settings.secrets())))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        for old in list(library_logger.handlers):
            library_logger.removeHandler(old)
        library_logger.propagate = True
    for name in {name for name, _ in PASSING_LIBRARY_ERRORS}:
        library_logger = logging.getLogger(name)
        if not any(isinstance(f, PassingLibraryErrors) for f in library_logger.filters):
            library_logger.addFilter(PassingLibraryErrors())
    return handler
