"""Bot API errors, as the real server reports them.

An ``ApiError`` raised by a method becomes ``{"ok": false, "error_code": ..., "description":
...}`` with the same HTTP status, which is what aiogram turns into its own exceptions
(TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter, ...).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An unsuccessful Bot API answer.

    Parameters:
      code: HTTP status and ``error_code`` (400, 401, 403, 404, 409, 429, 500).
      description: the ``description`` text, e.g. "Bad Request: chat not found".
      retry_after: for 429, seconds to wait (goes to ``parameters.retry_after``).
    """

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def conflict(reason: str) -> ApiError:
    return ApiError(409, f"Conflict: {reason}")


UNAUTHORIZED = ApiError(401, "Unauthorized")
METHOD_NOT_FOUND = ApiError(404, "Not Found: method not found")


class SandboxUsageError(Exception):
    """A simulated user action that Telegram's client would not allow (e.g. pressing a
    button that is not on the message, or a message id that does not exist)."""
