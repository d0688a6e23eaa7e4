"""Crypto Pay API values and errors (amounts are ``Decimal``, parsed from strings).

How a payout reads a ``transfer`` outcome:

* ``Transfer`` returned: paid.
* ``TransferRejectedError``: definitely NOT paid (``name`` says why: USER_NOT_FOUND —
  the user never opened @CryptoBot —, INSUFFICIENT_FUNDS, AMOUNT_TOO_SMALL, ...).
* ``CryptoPayConfigError``: definitely NOT paid, our app is misconfigured
  (UNAUTHORIZED token, transfers disabled): hold the payout, alert an admin.
* ``SpendIdAlreadyUsedError``: this spend_id was already accepted: the transfer
  happened earlier; read it back with ``get_transfers(spend_id=...)``.
* ``AmbiguousTransferError``: the request may or may not have been carried out
  (timeout, reset or 5xx after sending): reconcile with ``get_transfers(spend_id=...)``;
  re-sending the same spend_id is also safe, the API accepts it only once.
* ``TransientError``: not sent at all (connection refused, 429): safe to retry, and the
  client's policy (``retrying.CRYPTO_PAY``) does, sending the same body and spend_id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from zenith.platforms.errors import AmbiguousOutcomeError, BadResponseError, ConfigurationError, PlatformError

PLATFORM = "cryptopay"
MAINNET_URL = "https://pay.crypt.bot/api"
TESTNET_URL = "https://testnet-pay.crypt.bot/api"
CONFIG_ERROR_NAMES = frozenset({"UNAUTHORIZED", "METHOD_DISABLED", "METHOD_NOT_FOUND", "APP_NOT_FOUND"})
SPEND_ID_ALREADY_USED = "SPEND_ID_ALREADY_USED"
USER_NOT_FOUND = "USER_NOT_FOUND"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
AMOUNT_TOO_SMALL = "AMOUNT_TOO_SMALL"
AMOUNT_TOO_BIG = "AMOUNT_TOO_BIG"


class CryptoPayError(PlatformError):
    """An error answer of the Crypto Pay API.

    :param name: the API's error name (e.g. ``INSUFFICIENT_FUNDS``), or None.
    :param code: the API's numeric code / HTTP status, or None.
    """

    def __init__(self, message: str, *, name: str | None = None, code: int | None = None) -> None:
        super().__init__(message, platform=PLATFORM)
        self.name = name
        self.code = code


class TransferRejectedError(CryptoPayError):
    """The API refused the transfer: no money moved. Safe to refund the reservation."""


class SpendIdAlreadyUsedError(CryptoPayError):
    """This spend_id was accepted before: the transfer already happened."""


class AmbiguousTransferError(CryptoPayError, AmbiguousOutcomeError):
    """The transfer may have happened; reconcile with ``get_transfers(spend_id=...)``.

    :param spend_id: the idempotency key of the transfer in question.
    """

    def __init__(self, message: str, *, spend_id: str, name: str | None = None, code: int | None = None) -> None:
        super().__init__(message, name=name, code=code)
        self.spend_id = spend_id


class CryptoPayConfigError(CryptoPayError, ConfigurationError):
    """Our token or app settings are wrong (UNAUTHORIZED, METHOD_DISABLED, ...)."""


def to_decimal(value: Any, *, field: str) -> Decimal:
    """A money value from the API (string, int or Decimal — never float) as ``Decimal``."""
    if isinstance(value, float):
        raise BadResponseError(f"cryptopay: {field} arrived as a float", platform=PLATFORM)
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BadResponseError(f"cryptopay: {field}={value!r} is not a number", platform=PLATFORM) from None
    if not result.is_finite():
        raise BadResponseError(f"cryptopay: {field}={value!r} is not finite", platform=PLATFORM)
    return result


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadResponseError(f"cryptopay: {value!r} is not an ISO time", platform=PLATFORM) from None


@dataclass(frozen=True)
class AppInfo:
    app_id: int
    name: str
    payment_processing_bot_username: str


@dataclass(frozen=True)
class Transfer:
    """A completed transfer (the API only reports ``status="completed"``)."""

    transfer_id: int
    spend_id: str | None
    user_id: int
    asset: str
    amount: Decimal
    status: str
    completed_at: datetime | None
    comment: str | None = None

    @classmethod
    def from_api(cls, data: Any, *, spend_id: str | None = None) -> "Transfer":
        """From the API's object; ``spend_id`` fills in when the answer leaves it out."""
        try:
            return cls(
                transfer_id=int(data["transfer_id"]),
                spend_id=data.get("spend_id") or spend_id,
                user_id=int(data["user_id"]),
                asset=str(data["asset"]),
                amount=to_decimal(data["amount"], field="amount"),
                status=str(data.get("status", "completed")),
                completed_at=_time(data.get("completed_at")),
                comment=data.get("comment"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResponseError(f"cryptopay: malformed transfer {data!r} ({exc})", platform=PLATFORM) from None


@dataclass(frozen=True)
class ExchangeRate:
    """``rate`` is the price of one ``source`` in ``target`` (e.g. USDT in RUB)."""

    source: str
    target: str
    rate: Decimal
    is_valid: bool
    is_crypto: bool = True
    is_fiat: bool = False

    @classmethod
    def from_api(cls, data: Any) -> "ExchangeRate":
        try:
            return cls(
                source=str(data["source"]),
                target=str(data["target"]),
                rate=to_decimal(data["rate"], field="rate"),
                is_valid=bool(data.get("is_valid", False)),
                is_crypto=bool(data.get("is_crypto", True)),
                is_fiat=bool(data.get("is_fiat", False)),
            )
        except (KeyError, TypeError) as exc:
            raise BadResponseError(f"cryptopay: malformed rate {data!r} ({exc})", platform=PLATFORM) from None


@dataclass(frozen=True)
class Balance:
    currency_code: str
    available: Decimal
    onhold: Decimal

    @classmethod
    def from_api(cls, data: Any) -> "Balance":
        try:
            return cls(
                currency_code=str(data["currency_code"]),
                available=to_decimal(data["available"], field="available"),
                onhold=to_decimal(data.get("onhold", "0"), field="onhold"),
            )
        except (KeyError, TypeError) as exc:
            raise BadResponseError(f"cryptopay: malformed balance {data!r} ({exc})", platform=PLATFORM) from None
