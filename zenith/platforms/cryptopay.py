"""Crypto Pay API client (@CryptoBot): transfers, balances, exchange rates.

Every call is ``POST {base_url}/{method}`` with a JSON body and the
``Crypto-Pay-API-Token`` header; answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"code": 400, "name": "..."}}``. JSON is parsed with
``parse_float=Decimal`` and amounts are sent as strings, so money never passes
through a float. How to read each outcome of ``transfer`` is in ``cryptopay_types``.

Every call runs under the ``retrying.CRYPTO_PAY`` policy. A ``transfer`` is sent again only
when it never left this machine or Crypto Pay refused it before doing anything (429), and
always with the same body, so with the same ``spend_id``, which the API accepts once: an
outcome that may have moved money is ``AmbiguousTransferError``, which no policy retries.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp

from zenith.platforms.cryptopay_types import (
    CONFIG_ERROR_NAMES,
    MAINNET_URL,
    PLATFORM,
    SPEND_ID_ALREADY_USED,
    AmbiguousTransferError,
    AppInfo,
    Balance,
    CryptoPayConfigError,
    CryptoPayError,
    ExchangeRate,
    SpendIdAlreadyUsedError,
    Transfer,
    TransferRejectedError,
)
from zenith.platforms.errors import (
    BadResponseError,
    PlatformError,
    TransientError,
    is_transient_status,
    parse_retry_after,
)
from zenith.platforms.http_common import MAX_API_BODY, TRANSPORT_ERRORS, OwnedSession, parse_json, read_limited
from zenith.platforms.retrying import CRYPTO_PAY, RetryPolicy

MAX_SPEND_ID_LENGTH = 64
MAX_COMMENT_LENGTH = 1024
# Failures that happen before the request leaves this machine: nothing was sent.
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# after the request may have reached the provider: a transfer's outcome is then unknown
SENT_ERRORS: tuple[type[BaseException], ...] = (PlatformError, *TRANSPORT_ERRORS)


class CryptoPayClient:
    """Async client of one Crypto Pay app.

    :param token: the app's API token (required).
    :param base_url: ``https://pay.crypt.bot/api`` (default), the testnet
        ``https://testnet-pay.crypt.bot/api`` or a local fake.
    :param timeout: seconds per call. Default 10.
    :param retry: retry policy of every call. Default ``retrying.CRYPTO_PAY``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own.
    """

    def __init__(
        self,
        *,
        token: str,
        base_url: str = MAINNET_URL,
        timeout: float = 10.0,
        retry: RetryPolicy = CRYPTO_PAY,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not token:
            raise CryptoPayConfigError("cryptopay: CRYPTO_PAY_TOKEN is not set", name="UNAUTHORIZED")
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry = retry
        self._session = OwnedSession(session=session, timeout=self._timeout)

    async def __aenter__(self) -> "CryptoPayClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()

    async def get_me(self) -> AppInfo:
        """The app this token belongs to (a cheap token check)."""
        result = await self._call("getMe", {})
        try:
            return AppInfo(
                int(result["app_id"]), str(result["name"]), str(result.get("payment_processing_bot_username", ""))
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResponseError(f"cryptopay: malformed getMe {result!r} ({exc})", platform=PLATFORM) from None

    async def transfer(
        self,
        *,
        user_id: int,
        asset: str,
        amount: Decimal,
        spend_id: str,
        comment: str | None = None,
        disable_send_notification: bool | None = None,
    ) -> Transfer:
        """Send ``amount`` of ``asset`` from the app balance to Telegram user ``user_id``.

        :param spend_id: idempotency key (≤ 64 chars): the API accepts it once, ever.
        :raises TransferRejectedError: not paid (``name`` says why).
        :raises SpendIdAlreadyUsedError: paid by an earlier call with this spend_id.
        :raises AmbiguousTransferError: maybe paid: reconcile with ``find_transfer``.
        :raises TransientError: not sent at all, even after the policy's retries (same spend_id).
        :raises CryptoPayConfigError: not paid; the app token/settings need fixing.
        """
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValueError(f"amount must be a positive Decimal, got {amount!r}")
        if not spend_id or len(spend_id) > MAX_SPEND_ID_LENGTH:
            raise ValueError(f"spend_id must be 1..{MAX_SPEND_ID_LENGTH} characters")
        if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
            raise ValueError(f"comment is longer than {MAX_COMMENT_LENGTH} characters")
        params: dict[str, Any] = {
            "user_id": int(user_id),
            "asset": asset,
            "amount": format(amount, "f"),
            "spend_id": spend_id,
        }
        if comment is not None:
            params["comment"] = comment
        if disable_send_notification is not None:
            params["disable_send_notification"] = bool(disable_send_notification)
        result = await self._call("transfer", params, spend_id=spend_id)
        return Transfer.from_api(result, spend_id=spend_id)

    async def get_transfers(
        self,
        *,
        spend_id: str | None = None,
        asset: str | None = None,
        transfer_ids: list[int] | None = None,
        offset: int | None = None,
        count: int | None = None,
    ) -> list[Transfer]:
        """Transfers made by this app, filtered (``count`` 1..1000, API default 100)."""
        params: dict[str, Any] = {}
        if spend_id is not None:
            params["spend_id"] = spend_id
        if asset is not None:
            params["asset"] = asset
        if transfer_ids:
            params["transfer_ids"] = ",".join(str(int(t)) for t in transfer_ids)
        if offset is not None:
            params["offset"] = int(offset)
        if count is not None:
            params["count"] = int(count)
        result = await self._call("getTransfers", params)
        items = result.get("items") if isinstance(result, dict) else result
        if not isinstance(items, list):
            raise BadResponseError(f"cryptopay: getTransfers items missing in {result!r}", platform=PLATFORM)
        return [Transfer.from_api(item) for item in items]

    async def find_transfer(self, spend_id: str) -> Transfer | None:
        """The transfer made with ``spend_id``, or None if it never happened."""
        found = [t for t in await self.get_transfers(spend_id=spend_id) if t.spend_id in (None, spend_id)]
        return found[0] if found else None

    async def get_exchange_rates(self) -> list[ExchangeRate]:
        result = await self._call("getExchangeRates", {})
        if not isinstance(result, list):
            raise BadResponseError("cryptopay: getExchangeRates result is not a list", platform=PLATFORM)
        return [ExchangeRate.from_api(item) for item in result]

    async def get_balance(self) -> list[Balance]:
        result = await self._call("getBalance", {})
        if not isinstance(result, list):
            raise BadResponseError("cryptopay: getBalance result is not a list", platform=PLATFORM)
        return [Balance.from_api(item) for item in result]

    async def _call(self, method: str, params: dict[str, Any], *, spend_id: str | None = None) -> Any:
        """An API call under the retry policy; every attempt sends the same ``params``."""
        return await self._retry.call(self._call_once, method, params, spend_id, label=f"cryptopay {method}")

    async def _call_once(self, method: str, params: dict[str, Any], spend_id: str | None) -> Any:
        """One API call. ``spend_id`` marks a transfer: unclear outcomes become ambiguous."""
        session = await self._session.get()
        url = f"{self._base_url}/{method}"
        headers = {"Crypto-Pay-API-Token": self._token}
        try:
            async with session.post(url, json=params, headers=headers, timeout=self._timeout) as response:
                raw = await read_limited(response, limit=MAX_API_BODY, platform=PLATFORM)
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except NOT_SENT_ERRORS as exc:
            raise TransientError(f"cryptopay: {method} not sent: {exc}", platform=PLATFORM) from exc
        except SENT_ERRORS as exc:
            if spend_id is not None:
                raise AmbiguousTransferError(
                    f"cryptopay: transfer {spend_id} outcome unknown ({type(exc).__name__}: {exc})", spend_id=spend_id
                ) from exc
            if isinstance(exc, PlatformError):
                raise
            kind = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"failed: {type(exc).__name__}: {exc}"
            raise TransientError(f"cryptopay: {method} {kind}", platform=PLATFORM) from exc
        return self._result(method, status, raw, retry_after, spend_id)

    def _result(self, method: str, status: int, raw: bytes, retry_after: float | None, spend_id: str | None) -> Any:
        try:
            body = parse_json(raw, platform=PLATFORM, decimals=True)
        except BadResponseError as exc:
            if spend_id is not None:
                raise AmbiguousTransferError(
                    f"cryptopay: transfer {spend_id}: unreadable HTTP {status} answer", spend_id=spend_id, code=status
                ) from exc
            if is_transient_status(status):
                raise TransientError(
                    f"cryptopay: {method} HTTP {status}", platform=PLATFORM, status=status, retry_after=retry_after
                ) from exc
            raise
        if not isinstance(body, dict) or "ok" not in body:
            if spend_id is not None:
                raise AmbiguousTransferError(
                    f"cryptopay: transfer {spend_id}: answer without 'ok'", spend_id=spend_id, code=status
                )
            raise BadResponseError(f"cryptopay: {method} answer without 'ok': {str(body)[:200]}", platform=PLATFORM)
        if body["ok"] is True and 200 <= status < 300:
            return body.get("result")
        found = body.get("error")
        error = found if isinstance(found, dict) else {}
        name = str(error.get("name")) if error.get("name") else None
        code = int(error["code"]) if isinstance(error.get("code"), (int, Decimal)) else status
        raise self._classify(method, name, code, status, retry_after, spend_id)

    @staticmethod
    def _classify(
        method: str, name: str | None, code: int, status: int, retry_after: float | None, spend_id: str | None
    ) -> CryptoPayError | TransientError:
        text = f"cryptopay: {method} failed: {name or 'unknown error'} (code {code})"
        if name == SPEND_ID_ALREADY_USED:
            return SpendIdAlreadyUsedError(text, name=name, code=code)
        if name in CONFIG_ERROR_NAMES or status in (401, 403, 405) or code in (401, 403, 405):
            return CryptoPayConfigError(text, name=name, code=code)
        if status == 429 or code == 429:
            return TransientError(text, platform=PLATFORM, status=429, retry_after=retry_after)
        if status >= 500 or code >= 500:
            if spend_id is not None:
                return AmbiguousTransferError(text, spend_id=spend_id, name=name, code=code)
            return TransientError(text, platform=PLATFORM, status=status, retry_after=retry_after)
        if spend_id is not None:
            return TransferRejectedError(text, name=name, code=code)
        return CryptoPayError(text, name=name, code=code)
