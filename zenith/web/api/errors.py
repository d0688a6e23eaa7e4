"""Errors of the HTTP API: one JSON shape, a stable ``code``, a message in the caller's language.

Every refusal is ``{"error": {"code": ..., "message": ..., "details": [...]}}``. The code
is the contract (clients branch on it); the message is ``api.error.<code>`` rendered in
the language of ``Accept-Language`` (ru or en, else DEFAULT_LANGUAGE).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenith.i18n import Markup, normalize_language, translate

# code -> HTTP status; the OpenAPI document lists them per operation from here
STATUSES: dict[str, int] = {
    "malformed_json": 400,
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "insufficient_scope": 403,
    "creator_blocked": 403,
    "not_found": 404,
    "creator_not_found": 404,
    "video_not_found": 404,
    "submission_not_found": 404,
    "campaign_not_found": 404,
    "method_not_allowed": 405,
    "campaign_not_open": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_request": 422,
    "invalid_link": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}


class ApiError(Exception):
    """A refusal: raise it in a handler or middleware, the error middleware renders it.

    Parameters:
      code: a key of ``STATUSES`` (the HTTP status follows from it).
      params: fields of the translated message.
      details: machine-readable specifics (e.g. which field is invalid).
      headers: extra response headers (Retry-After, Allow).
    """

    def __init__(
        self,
        code: str,
        *,
        params: dict[str, Any] | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if code not in STATUSES:
            raise ValueError(f"unknown API error code {code!r}")
        super().__init__(code)
        self.code = code
        self.status = STATUSES[code]
        self.params = params or {}
        self.details = details or []
        self.headers = headers or {}


def request_language(request: web.Request, *, default: str) -> str:
    """The first of ru/en that Accept-Language names, else ``default``."""
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";", 1)[0].strip()
        if tag and tag != "*":
            return normalize_language(tag, default=default)
    return default


def error_response(error: ApiError, *, language: str) -> web.Response:
    # JSON is not HTML: mark the parameters as markup so the translator does not escape them
    params = {key: Markup(str(value)) for key, value in error.params.items()}
    body = {
        "error": {
            "code": error.code,
            "message": translate(language, f"api.error.{error.code}", **params),
            "details": error.details,
        }
    }
    return web.json_response(body, status=error.status, headers=error.headers)
