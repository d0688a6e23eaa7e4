"""A local stand-in for the Crypto Pay API (``/api/{method}``, token header, ok/error envelope).

Behaves like the real API where it matters for money: a ``spend_id`` is accepted once,
ever (a repeat answers ``SPEND_ID_ALREADY_USED`` and moves nothing); a user who never
opened @CryptoBot gets ``USER_NOT_FOUND``; ``INSUFFICIENT_FUNDS`` when the app balance is
short; ``AMOUNT_TOO_SMALL`` / ``AMOUNT_TOO_BIG`` outside roughly 1–25,000 USD; amounts
are strings. Scripted trouble: ``state.fail_next("500")`` before doing anything, or
``state.after_transfer = "delay" | "drop" | "500"`` to perform the transfer and then
answer late, cut the connection, or fail — the ambiguous cases.

Usage::

    with run_fake_cryptopay() as cp:
        cp.state.known_users.add(777)
        client = CryptoPayClient(token=cp.state.token, base_url=cp.url + "/api")
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, run_in_thread, serve_in_loop

ASSETS = ("USDT", "TON", "BTC", "ETH", "LTC", "BNB", "TRX", "USDC")


def _default_rates() -> dict[tuple[str, str], Decimal]:
    return {
        ("USDT", "RUB"): Decimal("92.45"),
        ("TON", "RUB"): Decimal("512.30"),
        ("BTC", "RUB"): Decimal("6120000.5"),
        ("USDT", "USD"): Decimal("1.00"),
        ("TON", "USD"): Decimal("5.54"),
        ("BTC", "USD"): Decimal("66200"),
    }


@dataclass
class FakeCryptoPayState:
    """The fake app: balances, known users, rates, and every transfer made (thread-safe)."""

    token: str = "12345:AAfakeCryptoPayTokenForTests"
    app_id: int = 12345
    app_name: str = "ZenithMedia"
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("1000"), "TON": Decimal("500")})
    onhold: dict[str, Decimal] = field(default_factory=dict)
    known_users: set[int] = field(default_factory=set)  # users who opened @CryptoBot
    rates: dict[tuple[str, str], Decimal] = field(default_factory=_default_rates)
    rates_valid: bool = True
    transfers_enabled: bool = True
    min_usd: Decimal = Decimal("1")
    max_usd: Decimal = Decimal("25000")
    failures: list[str] = field(default_factory=list)  # "500", "429", "garbage", or an error name
    after_transfer: str | None = None  # "delay", "drop" or "500": transfer done, answer troubled
    delay_seconds: float = 3.0
    transfers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    next_transfer_id: int = 4001
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([kind] * times)

    def transfers_for(self, spend_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [t for t in self.transfers if t["spend_id"] == spend_id]

    def paid_total(self, user_id: int, asset: str) -> Decimal:
        with self.lock:
            return sum(
                (Decimal(t["amount"]) for t in self.transfers if t["user_id"] == user_id and t["asset"] == asset),
                Decimal(0),
            )


def _ok(result: Any) -> web.Response:
    return web.Response(text=json.dumps({"ok": True, "result": result}), content_type="application/json")


def _error(status: int, name: str) -> web.Response:
    return web.Response(
        text=json.dumps({"ok": False, "error": {"code": status, "name": name}}),
        status=status,
        content_type="application/json",
    )


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def build_app(state: FakeCryptoPayState) -> web.Application:
    """The aiohttp app serving ``state``."""

    async def params_of(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                params.update(json.loads(raw, parse_float=Decimal))
            elif raw:
                params.update(dict(await request.post()))
        return params

    async def transfer(params: dict[str, Any], request: web.Request) -> web.StreamResponse:
        if not state.transfers_enabled:
            return _error(403, "METHOD_DISABLED")
        spend_id = str(params.get("spend_id") or "")
        asset = str(params.get("asset") or "")
        amount = _amount(params.get("amount"))
        try:
            user_id = int(params.get("user_id"))
        except (TypeError, ValueError):
            return _error(400, "USER_ID_INVALID")
        if not spend_id or len(spend_id) > 64:
            return _error(400, "SPEND_ID_INVALID")
        if asset not in ASSETS:
            return _error(400, "ASSET_INVALID")
        if amount is None:
            return _error(400, "AMOUNT_INVALID")
        with state.lock:
            if any(t["spend_id"] == spend_id for t in state.transfers):
                return _error(400, "SPEND_ID_ALREADY_USED")
            if user_id not in state.known_users:
                return _error(400, "USER_NOT_FOUND")
            usd = state.rates.get((asset, "USD"))
            if usd is not None and amount * usd < state.min_usd:
                return _error(400, "AMOUNT_TOO_SMALL")
            if usd is not None and amount * usd > state.max_usd:
                return _error(400, "AMOUNT_TOO_BIG")
            if state.balances.get(asset, Decimal(0)) < amount:
                return _error(400, "INSUFFICIENT_FUNDS")
            state.balances[asset] -= amount
            record = {
                "transfer_id": state.next_transfer_id,
                "spend_id": spend_id,
                "user_id": user_id,
                "asset": asset,
                "amount": format(amount, "f"),
                "status": "completed",
                "completed_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            if params.get("comment"):
                record["comment"] = str(params["comment"])
            state.next_transfer_id += 1
            state.transfers.append(record)
            trouble = state.after_transfer
        if trouble == "delay":
            await asyncio.sleep(state.delay_seconds)
        elif trouble == "drop":
            request.transport.close()  # the client sees the connection reset with no answer
            return web.Response(status=500)
        elif trouble == "500":
            return _error(500, "INTERNAL_ERROR")
        # Like the real /transfer answer, the spend_id is not echoed back.
        return _ok({k: v for k, v in record.items() if k != "spend_id"})

    async def get_transfers(params: dict[str, Any]) -> web.Response:
        with state.lock:
            items = list(state.transfers)
        if params.get("spend_id"):
            items = [t for t in items if t["spend_id"] == str(params["spend_id"])]
        if params.get("asset"):
            items = [t for t in items if t["asset"] == str(params["asset"])]
        if params.get("transfer_ids"):
            wanted = {int(t) for t in str(params["transfer_ids"]).split(",") if t.strip()}
            items = [t for t in items if t["transfer_id"] in wanted]
        offset, count = int(params.get("offset", 0)), int(params.get("count", 100))
        if not 1 <= count <= 1000:
            return _error(400, "COUNT_INVALID")
        return _ok({"items": items[offset : offset + count]})

    def rates() -> web.Response:
        with state.lock:
            return _ok(
                [
                    {
                        "is_valid": state.rates_valid,
                        "is_crypto": True,
                        "is_fiat": False,
                        "source": s,
                        "target": t,
                        "rate": format(r, "f"),
                    }
                    for (s, t), r in state.rates.items()
                ]
            )

    def balance() -> web.Response:
        with state.lock:
            return _ok(
                [
                    {
                        "currency_code": a,
                        "available": format(state.balances.get(a, Decimal(0)), "f"),
                        "onhold": format(state.onhold.get(a, Decimal(0)), "f"),
                    }
                    for a in ASSETS
                ]
            )

    async def handle(request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await params_of(request)
        state.calls.append((method, params))
        if request.headers.get("Crypto-Pay-API-Token") != state.token:
            return _error(401, "UNAUTHORIZED")
        with state.lock:
            failure = state.failures.pop(0) if state.failures else None
        if failure == "500":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if failure == "429":
            return web.Response(
                status=429,
                headers={"Retry-After": "1"},
                text=json.dumps({"ok": False, "error": {"code": 429, "name": "FLOOD"}}),
                content_type="application/json",
            )
        if failure == "garbage":
            return web.Response(status=200, text="{not json", content_type="application/json")
        if failure is not None:
            return _error(400, failure)
        if method == "getMe":
            return _ok(
                {"app_id": state.app_id, "name": state.app_name, "payment_processing_bot_username": "CryptoTestnetBot"}
            )
        if method == "transfer":
            return await transfer(params, request)
        if method == "getTransfers":
            return await get_transfers(params)
        if method == "getExchangeRates":
            return rates()
        if method == "getBalance":
            return balance()
        return _error(405, "METHOD_NOT_FOUND")

    app = web.Application()
    app.router.add_route("*", "/api/{method}", handle)
    return app


def run_fake_cryptopay(state: FakeCryptoPayState | None = None):
    """``with run_fake_cryptopay() as cp:`` — the fake in a background thread; API base is ``cp.url + "/api"``."""
    state = state or FakeCryptoPayState()
    return run_in_thread(build_app(state), state)


def serve_fake_cryptopay(state: FakeCryptoPayState | None = None):
    """``async with serve_fake_cryptopay() as cp:`` — the fake in the running loop."""
    state = state or FakeCryptoPayState()
    return serve_in_loop(build_app(state), state)


__all__ = ["FakeCryptoPayState", "FakeServer", "build_app", "run_fake_cryptopay", "serve_fake_cryptopay"]
