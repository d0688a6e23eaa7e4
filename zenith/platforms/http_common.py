"""Turning aiohttp outcomes into classified platform errors (shared by the adapters)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp

from zenith import fast_json
from zenith.platforms.errors import BadResponseError, PlatformError, TransientError, parse_retry_after

# A JSON API answer larger than this is not one we asked for.
MAX_API_BODY = 4 * 1024 * 1024

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def transient_from_exception(exc: BaseException, *, platform: str) -> TransientError:
    """A ``TransientError`` describing a transport failure (timeout, reset, refused)."""
    if isinstance(exc, asyncio.TimeoutError):
        return TransientError(f"{platform}: timed out", platform=platform)
    return TransientError(f"{platform}: connection failed: {type(exc).__name__}: {exc}", platform=platform)


def transient_from_status(response: aiohttp.ClientResponse, *, platform: str) -> TransientError:
    """A ``TransientError`` for a 5xx / 429 answer, carrying its Retry-After."""
    return TransientError(
        f"{platform}: HTTP {response.status}",
        platform=platform,
        status=response.status,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


async def read_limited(response: aiohttp.ClientResponse, *, limit: int, platform: str) -> bytes:
    """The body, refusing (``BadResponseError``) anything larger than ``limit`` bytes."""
    length = response.content_length
    if length is not None and length > limit:
        raise BadResponseError(f"{platform}: body of {length} bytes exceeds {limit}", platform=platform)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BadResponseError(f"{platform}: body exceeds {limit} bytes", platform=platform)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, *, platform: str, decimals: bool = False) -> Any:
    """Decode a JSON body; garbage becomes ``BadResponseError``.

    :param decimals: parse non-integer numbers as ``Decimal`` (money), never float.
    """
    try:
        if decimals:
            return json.loads(body, parse_float=Decimal)
        return fast_json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:80].decode("utf-8", "replace")
        raise BadResponseError(f"{platform}: response is not JSON ({exc}): {snippet!r}", platform=platform) from None


def as_platform_error(exc: BaseException, *, platform: str) -> PlatformError:
    """Any exception from a platform call, classified (unknown ones are bad responses)."""
    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, TRANSPORT_ERRORS):
        return transient_from_exception(exc, platform=platform)
    return BadResponseError(f"{platform}: {type(exc).__name__}: {exc}", platform=platform)


class OwnedSession:
    """An aiohttp session opened when first needed and closed only if we opened it.

    A session passed in by the caller is the caller's: ``close`` leaves it open.
    After ``close`` an owned session is reopened by the next ``get``.

    :param session: the caller's session to use; default ``None``: open our own.
    :param timeout: default timeout of the session we open (required).
    :param headers: default headers of the session we open (e.g. browser headers).
        Default none.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._session = session
        self._owned = session is None
        self._timeout = timeout
        self._headers = headers

    async def get(self) -> aiohttp.ClientSession:
        """The session, opening ours on first use (must run inside the event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the session if we opened it; the caller's is left alone."""
        if self._owned and self._session is not None:
            session, self._session = self._session, None
            await session.close()
