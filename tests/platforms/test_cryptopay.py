"""Crypto Pay client against the local API fake: transfers, idempotency, ambiguity, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fast_retries import fast
from zenith.platforms.cryptopay import CryptoPayClient
from zenith.platforms.cryptopay_types import (
    AmbiguousTransferError,
    CryptoPayConfigError,
    SpendIdAlreadyUsedError,
    TransferRejectedError,
)
from zenith.platforms.errors import TransientError
from zenith.platforms.retrying import CRYPTO_PAY

USER = 777000111
FAST = fast(CRYPTO_PAY)


@pytest.fixture
async def client(cryptopay):
    cryptopay.state.known_users.add(USER)
    client = CryptoPayClient(token=cryptopay.state.token, base_url=cryptopay.url + "/api", timeout=2, retry=FAST)
    yield client
    await client.close()


async def test_get_me(client):
    me = await client.get_me()
    assert me.app_id == 12345 and me.name == "ZenithMedia"


async def test_transfer_pays_once_with_decimal_amounts(cryptopay, client):
    transfer = await client.transfer(
        user_id=USER, asset="USDT", amount=Decimal("12.345678"), spend_id="payout-1", comment="ZenithMedia payout"
    )
    assert transfer.amount == Decimal("12.345678") and isinstance(transfer.amount, Decimal)
    assert transfer.spend_id == "payout-1" and transfer.user_id == USER and transfer.status == "completed"
    assert transfer.completed_at is not None and transfer.completed_at.tzinfo is not None
    sent = cryptopay.state.calls[-1][1]
    assert sent["amount"] == "12.345678"  # sent as a string, never a float
    assert cryptopay.state.balances["USDT"] == Decimal("1000") - Decimal("12.345678")


async def test_same_spend_id_twice_pays_once(cryptopay, client):
    await client.transfer(user_id=USER, asset="USDT", amount=Decimal("5"), spend_id="payout-2")
    with pytest.raises(SpendIdAlreadyUsedError):
        await client.transfer(user_id=USER, asset="USDT", amount=Decimal("5"), spend_id="payout-2")
    assert len(cryptopay.state.transfers_for("payout-2")) == 1
    assert cryptopay.state.paid_total(USER, "USDT") == Decimal("5")
    found = await client.find_transfer("payout-2")
    assert found is not None and found.amount == Decimal("5")


@pytest.mark.parametrize("trouble", ["delay", "drop", "500"])
async def test_ambiguous_outcome_then_reconcile(cryptopay, trouble):
    cryptopay.state.known_users.add(USER)
    cryptopay.state.after_transfer = trouble
    cryptopay.state.delay_seconds = 1.0
    client = CryptoPayClient(token=cryptopay.state.token, base_url=cryptopay.url + "/api", timeout=0.3, retry=FAST)
    with pytest.raises(AmbiguousTransferError) as caught:
        await client.transfer(user_id=USER, asset="TON", amount=Decimal("2.5"), spend_id=f"payout-{trouble}")
    assert caught.value.spend_id == f"payout-{trouble}"
    assert [m for m, _ in cryptopay.state.calls] == ["transfer"]  # a maybe-done transfer is never re-sent blindly
    cryptopay.state.after_transfer = None
    # The transfer did happen: reconciliation finds it, and a retry cannot pay twice.
    found = await client.find_transfer(f"payout-{trouble}")
    assert found is not None and found.amount == Decimal("2.5") and found.asset == "TON"
    with pytest.raises(SpendIdAlreadyUsedError):
        await client.transfer(user_id=USER, asset="TON", amount=Decimal("2.5"), spend_id=f"payout-{trouble}")
    assert cryptopay.state.paid_total(USER, "TON") == Decimal("2.5")
    await client.close()


async def test_error_before_sending_is_not_ambiguous(cryptopay, client):
    cryptopay.state.fail_next("500")
    with pytest.raises(AmbiguousTransferError):  # a 5xx on transfer: we cannot know
        await client.transfer(user_id=USER, asset="USDT", amount=Decimal("3"), spend_id="payout-5xx")
    assert await client.find_transfer("payout-5xx") is None  # here the fake failed before paying

    refused = CryptoPayClient(token="x", base_url="http://127.0.0.1:9/api", timeout=1, retry=FAST)
    with pytest.raises(TransientError):  # connection refused: nothing was sent
        await refused.transfer(user_id=USER, asset="USDT", amount=Decimal("3"), spend_id="payout-conn")
    await refused.close()


async def test_ambiguous_then_not_found_means_not_paid(cryptopay, client):
    cryptopay.state.fail_next("garbage")
    with pytest.raises(AmbiguousTransferError):
        await client.transfer(user_id=USER, asset="USDT", amount=Decimal("3"), spend_id="payout-g")
    assert await client.find_transfer("payout-g") is None
    retried = await client.transfer(user_id=USER, asset="USDT", amount=Decimal("3"), spend_id="payout-g")
    assert retried.spend_id == "payout-g"


@pytest.mark.parametrize(
    ("setup", "user", "amount", "name"),
    [
        (None, 999, "5", "USER_NOT_FOUND"),
        (None, USER, "5000", "INSUFFICIENT_FUNDS"),
        (None, USER, "0.5", "AMOUNT_TOO_SMALL"),
        ("rich", USER, "30000", "AMOUNT_TOO_BIG"),
    ],
)
async def test_definite_failures_are_rejected(cryptopay, client, setup, user, amount, name):
    if setup == "rich":
        cryptopay.state.balances["USDT"] = Decimal("100000")
    before = dict(cryptopay.state.balances)
    with pytest.raises(TransferRejectedError) as caught:
        await client.transfer(user_id=user, asset="USDT", amount=Decimal(amount), spend_id=f"payout-{name}")
    assert caught.value.name == name and caught.value.code == 400
    assert cryptopay.state.transfers == [] and cryptopay.state.balances == before


async def test_config_errors(cryptopay, client):
    bad = CryptoPayClient(token="wrong", base_url=cryptopay.url + "/api")
    with pytest.raises(CryptoPayConfigError) as caught:
        await bad.get_me()
    assert caught.value.name == "UNAUTHORIZED"
    await bad.close()
    cryptopay.state.transfers_enabled = False
    with pytest.raises(CryptoPayConfigError) as caught:
        await client.transfer(user_id=USER, asset="USDT", amount=Decimal("5"), spend_id="payout-disabled")
    assert caught.value.name == "METHOD_DISABLED"
    with pytest.raises(CryptoPayConfigError):
        CryptoPayClient(token="")


async def test_reads_classify_server_errors_as_transient(cryptopay, client):
    cryptopay.state.fail_next("500", times=FAST.attempts)
    with pytest.raises(TransientError):
        await client.get_balance()
    cryptopay.state.fail_next("429", times=FAST.attempts)
    with pytest.raises(TransientError) as caught:
        await client.get_exchange_rates()
    assert caught.value.retry_after == 1
    assert cryptopay.state.failures == []


async def test_a_transfer_refused_before_anything_moved_is_sent_again_with_the_same_spend_id(cryptopay, client):
    cryptopay.state.fail_next("429", times=FAST.attempts - 1)  # flood control: Crypto Pay did nothing
    transfer = await client.transfer(user_id=USER, asset="USDT", amount=Decimal("4"), spend_id="payout-flood")
    sent = [params for method, params in cryptopay.state.calls if method == "transfer"]
    assert len(sent) == FAST.attempts and all(params == sent[0] for params in sent)
    assert {params["spend_id"] for params in sent} == {"payout-flood"}
    assert transfer.spend_id == "payout-flood" and len(cryptopay.state.transfers_for("payout-flood")) == 1
    assert cryptopay.state.paid_total(USER, "USDT") == Decimal("4")


async def test_an_ambiguous_transfer_is_not_retried_by_the_policy(cryptopay, client):
    cryptopay.state.fail_next("garbage")  # HTTP 200 without a readable answer: maybe paid
    with pytest.raises(AmbiguousTransferError):
        await client.transfer(user_id=USER, asset="USDT", amount=Decimal("4"), spend_id="payout-unclear")
    assert [m for m, _ in cryptopay.state.calls] == ["transfer"]


async def test_exchange_rates_and_balance_are_decimal(cryptopay, client):
    rates = {(r.source, r.target): r for r in await client.get_exchange_rates()}
    assert rates[("USDT", "RUB")].rate == Decimal("92.45") and rates[("USDT", "RUB")].is_valid
    assert rates[("TON", "RUB")].rate == Decimal("512.30")
    balances = {b.currency_code: b for b in await client.get_balance()}
    assert balances["USDT"].available == Decimal("1000") and balances["USDT"].onhold == Decimal("0")
    assert all(isinstance(b.available, Decimal) for b in balances.values())


async def test_get_transfers_filters(cryptopay, client):
    first = await client.transfer(user_id=USER, asset="USDT", amount=Decimal("1.5"), spend_id="a")
    await client.transfer(user_id=USER, asset="TON", amount=Decimal("1"), spend_id="b")
    assert [t.spend_id for t in await client.get_transfers(asset="TON")] == ["b"]
    assert [t.spend_id for t in await client.get_transfers(transfer_ids=[first.transfer_id])] == ["a"]
    assert len(await client.get_transfers()) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": Decimal("0")}, "positive"),
        ({"amount": 1.5}, "Decimal"),
        ({"spend_id": ""}, "spend_id"),
        ({"spend_id": "x" * 65}, "spend_id"),
    ],
)
async def test_bad_input_is_refused_before_sending(cryptopay, client, kwargs, message):
    args = {"user_id": USER, "asset": "USDT", "amount": Decimal("1"), "spend_id": "ok"} | kwargs
    with pytest.raises(ValueError, match=message):
        await client.transfer(**args)
    assert cryptopay.state.calls == []
