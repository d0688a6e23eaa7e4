"""Exchange rates: RUB per payout asset, refreshed from Crypto Pay, never used stale.

``refresh_rates()`` calls getExchangeRates, keeps the RUB price of each payout asset
(a pair quoted the other way round, RUB -> asset, is inverted), caches it in Redis
with a TTL of RATE_MAX_AGE_SECONDS and stores it in PostgreSQL for audit. Running it
twice only adds a second history row.

``current_rate(runtime, asset=..., max_age=...)`` is what payouts call: the cached
rate (or the latest stored one) if it is younger than ``max_age``, else `RateStale`.

Without CRYPTO_PAY_TOKEN (the `zenith up` default) there is nothing to refresh from:
that is a configuration state, not a failure -- one warning per process, no retry.
A token Crypto Pay refuses is logged as an error, also without retry (retrying cannot
fix it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable

from zenith.actors.registry import ActorSpec
from zenith.actors.runtime import Runtime, get_runtime
from zenith.config import Settings
from zenith.messaging.contract import REFRESH_RATES
from zenith.platforms.cryptopay_types import CryptoPayConfigError, ExchangeRate
from zenith.storage import rates as rate_store
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

FIAT = "RUB"
RATE_QUANT = Decimal("1e-18")  # numeric(36,18)


class RateStale(LookupError):
    """No rate of the asset younger than the allowed age; refresh and wait."""


class NoRubRate(LookupError):
    """Crypto Pay quoted no valid RUB price for a payout asset."""


@dataclass(frozen=True)
class CurrentRate:
    asset: str
    rate: Decimal  # RUB per one unit of the asset
    fetched_at: datetime


def crypto_pay_configured(settings: Settings) -> bool:
    """True when CRYPTO_PAY_TOKEN is set; without it no rate is fetched and no payout sent."""
    return bool(settings.crypto_pay_token)


_told_not_configured = False  # the missing token is logged once per process


def _warn_not_configured() -> None:
    global _told_not_configured
    if _told_not_configured:
        return
    _told_not_configured = True
    logger.warning(
        "CRYPTO_PAY_TOKEN is not set: exchange rates are not refreshed and payouts wait in 'approved' until it is configured"
    )


def rub_prices(quotes: Iterable[ExchangeRate], *, assets: Iterable[str]) -> dict[str, Decimal]:
    """RUB per unit of each of ``assets`` from Crypto Pay's source/target pairs.

    A direct pair (asset -> RUB) wins over an inverted one (RUB -> asset); invalid
    and non-positive quotes are ignored.
    """
    wanted = {asset.upper() for asset in assets}
    direct: dict[str, Decimal] = {}
    inverted: dict[str, Decimal] = {}
    for quote in quotes:
        if not quote.is_valid or quote.rate <= 0:
            continue
        source, target = quote.source.upper(), quote.target.upper()
        if target == FIAT and source in wanted:
            direct[source] = quote.rate
        elif source == FIAT and target in wanted:
            inverted[target] = (Decimal(1) / quote.rate).quantize(RATE_QUANT)
    return {**inverted, **direct}


async def refresh_rates() -> None:
    """Fetch RUB prices of the payout assets; cache them (TTL RATE_MAX_AGE_SECONDS) and store them."""
    runtime = get_runtime()
    if not crypto_pay_configured(runtime.settings):
        _warn_not_configured()
        return
    client = await runtime.crypto_pay()
    fetched_at = datetime.now(timezone.utc)
    assets = runtime.settings.payout_assets
    try:
        quotes = await client.get_exchange_rates()
    except CryptoPayConfigError as exc:
        logger.error(
            "exchange rates not refreshed: Crypto Pay refuses our app (%s); check CRYPTO_PAY_TOKEN / CRYPTO_PAY_URL",
            exc,
        )
        return
    prices = rub_prices(quotes, assets=assets)
    missing = sorted(set(a.upper() for a in assets) - set(prices))
    if missing:
        logger.error("Crypto Pay quoted no valid RUB rate for %s", missing)
    if not prices:
        raise NoRubRate(f"no RUB rate for any of {list(assets)}")
    pool = await runtime.db()
    async with unit_of_work(pool) as conn:
        for asset, price in prices.items():
            await rate_store.store(conn, source=asset, rate=price, fetched_at=fetched_at, target=FIAT)
    redis = await runtime.redis()
    for asset, price in prices.items():
        await rate_store.cache_rate(
            redis,
            runtime.namespace,
            source=asset,
            rate=price,
            fetched_at=fetched_at,
            ttl=runtime.settings.rate_max_age_seconds,
            target=FIAT,
        )
    logger.info("rates refreshed: %s", {a: str(p) for a, p in prices.items()})


async def current_rate(runtime: Runtime, *, asset: str, max_age: timedelta, now: datetime | None = None) -> CurrentRate:
    """The RUB price of ``asset`` fetched within ``max_age``; raises `RateStale` otherwise."""
    now = now or datetime.now(timezone.utc)
    found = await rate_store.current(
        await runtime.redis(), await runtime.db(), runtime.namespace, source=asset, target=FIAT
    )
    if found is None:
        raise RateStale(f"no {asset}/{FIAT} rate stored yet")
    rate = CurrentRate(asset=found.source, rate=found.rate, fetched_at=found.fetched_at)
    if now - rate.fetched_at > max_age:
        raise RateStale(f"{asset}/{FIAT} rate is from {rate.fetched_at.isoformat()}, older than {max_age}")
    return rate


ACTORS = (ActorSpec(REFRESH_RATES, refresh_rates, {"max_retries": 3, "min_backoff": 5_000, "time_limit": 60_000}),)
