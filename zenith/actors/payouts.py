"""Payouts: requested -> approved -> sending -> paid | failed, paying at most once.

``process_payout(payout_id)`` moves a payout as far as it can go now:

* requested: approved automatically for the gold tier up to GOLD_AUTO_PAYOUT_LIMIT_RUB
  when the creator's risk is low (no open trust signal, few rejected items: docs/trust.md);
  otherwise it waits for an admin (the bot approves it and sends process_payout again).
* approved: converted at a rate no older than RATE_MAX_AGE_SECONDS (stale: a refresh
  is requested and the message comes back later, status unchanged), then moved to
  'sending' with the amounts — committed BEFORE Crypto Pay is called.
* sending: ``transfer`` with ``spend_id`` derived from the payout id (Crypto Pay accepts
  a spend_id once, ever). A payout found already in 'sending' (a retry after a crash or
  timeout, or the clock's reconciliation) first asks ``getTransfers(spend_id)``.
  A transfer made -> 'paid' (the reservation is settled in the same transaction); a
  definite refusal -> 'failed' (the reservation is released); an ambiguous answer is
  reconciled, and if still unknown left in 'sending' for a retry.

Every step is a conditional status change, so running the message twice, or two
workers at once, never pays twice or refunds twice (ledger keys are per payout). A
delivery that finds the payout paid or failed repeats its final notice under the same
dedup key, so a worker dying between the status commit and the notice loses nothing.
The "approved" notice has no such later delivery (a retry finds the payout in 'sending'
and goes on to paid), so it is staged in the outbox with the 'sending' commit and the
clock relays it if the worker dies before sending it.

Without CRYPTO_PAY_TOKEN an approved (or sending) payout is held as it is: one operator
log line per delivery, the creator told once (``notify.payout.unavailable``), no retry.

The app's wallet short of funds (``INSUFFICIENT_FUNDS``, nothing was sent) is not a
refusal: the payout goes back to 'approved', waiting (``funds_wait_since``), its money
still reserved; the creator is told it is delayed (``notify.payout.delayed``) and, when it
is the first payout of that asset to wait, the admins are alerted once
(``notify.admin.wallet_empty``). Each later delivery (the clock nudges approved payouts
every few minutes) asks getBalance first and sends only when the wallet holds the amount;
the same ``spend_id`` is sent, so it can still be paid only once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import dramatiq
import psycopg

from zenith.actors.notice_outbox import publish
from zenith.actors.rates import RateStale, crypto_pay_configured, current_rate
from zenith.actors.registry import ActorSpec
from zenith.actors.runtime import Runtime, get_runtime
from zenith.actors.trust_gate import trust_policy
from zenith.domain.money import convert_rub_to_asset
from zenith.domain.payouts import PayoutStatus, needs_admin_approval
from zenith.domain.users import UserStatus
from zenith.messaging.contract import NOTIFY, PROCESS_PAYOUT, REFRESH_RATES
from zenith.platforms.cryptopay_types import (
    INSUFFICIENT_FUNDS,
    AmbiguousTransferError,
    CryptoPayConfigError,
    SpendIdAlreadyUsedError,
    Transfer,
    TransferRejectedError,
)
from zenith.storage import outbox, payouts, trust_signals, users
from zenith.storage.db import unit_of_work
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.subject import tag_payout

logger = logging.getLogger(__name__)

STALE_RATE_RETRY_MS = 15_000  # a payout waiting for fresh rates looks again after this
CONFIG_ERROR_RETRY_MS = 10 * 60_000  # our Crypto Pay app is misconfigured: hold, retry later
SYSTEM_ADMIN_ID = 0  # decided_by for automatic approvals

# Why a transfer was refused: Crypto Pay's error name -> i18n key, rendered by the
# notifications actor in the creator's language (param ``reason_key``).
REFUSAL_REASON_KEYS = {
    "USER_NOT_FOUND": "payout.reason.user_not_found",
    "INSUFFICIENT_FUNDS": "payout.reason.insufficient_funds",
    "AMOUNT_TOO_SMALL": "payout.reason.amount_too_small",
    "AMOUNT_TOO_BIG": "payout.reason.amount_too_big",
}
DEFAULT_REFUSAL_KEY = "payout.reason.refused"


class TransferOutcomeUnknown(dramatiq.Retry):
    """Crypto Pay's answer was ambiguous and getTransfers does not show the transfer yet.

    An expected state, not a fault: the payout stays in 'sending' and the next delivery
    (Dramatiq's backoff, or the clock's reconciliation) asks getTransfers again. As a
    `dramatiq.Retry` it is retried like any failure but not logged as an error.
    """


def refusal_reason_key(name: str | None) -> str:
    """The i18n key explaining Crypto Pay error ``name`` to the creator."""
    return REFUSAL_REASON_KEYS.get(name or "", DEFAULT_REFUSAL_KEY)


def _notice(payout: payouts.Payout, step: str, params: dict) -> dict:
    """The notice of ``step`` (approved, paid, failed, unavailable): user_id, key, params,
    dedup_key -- one per payout and step."""
    # amounts travel as decimal strings; the notice renders them in the creator's language
    common = {"payout_id": payout.id, "amount": str(payout.amount_rub), "asset": payout.asset}
    if payout.asset_amount is not None:
        common["asset_amount"] = str(payout.asset_amount)
    return {
        "user_id": payout.user_id,
        "key": f"notify.payout.{step}",
        "params": {**common, **params},
        "dedup_key": f"payout:{payout.id}:{step}",
    }


def _notify(runtime: Runtime, payout: payouts.Payout, step: str, params: dict) -> None:
    """Tell the creator about ``step`` now, once per payout and step."""
    notice = _notice(payout, step, params)
    runtime.send(NOTIFY, notice["user_id"], notice["key"], notice["params"], notice["dedup_key"], None)


async def process_payout(payout_id: int) -> None:
    """Move payout ``payout_id`` along its state machine as far as possible now.

    Parameters:
      payout_id: payouts.id.
    """
    runtime = get_runtime()
    tag_payout(payout_id)  # on this span, the Crypto Pay calls and the notices sent next
    pool = await runtime.db()
    payout: payouts.Payout | None  # None after a step: another delivery or an admin carries on
    async with pool.connection() as conn:
        payout = await payouts.get(conn, payout_id)
    if payout.status == PayoutStatus.REQUESTED:
        payout = await _auto_approve(runtime, payout)
        if payout is None:
            return  # waits for an admin
    if payout.status in (PayoutStatus.APPROVED, PayoutStatus.SENDING) and not crypto_pay_configured(runtime.settings):
        _hold_unconfigured(runtime, payout)
        return
    if payout.status == PayoutStatus.APPROVED and payout.funds_wait_since is not None:
        payout = await _end_wait_if_funded(runtime, payout)
        if payout is None:
            return  # the wallet is still short: the clock's next nudge looks again
    if payout.status == PayoutStatus.APPROVED:
        payout = await _start_sending(runtime, payout)
        if payout is None:
            return
        await _send(runtime, payout, reconcile_first=False)
    elif payout.status == PayoutStatus.SENDING:
        await _send(runtime, payout, reconcile_first=True)
    elif payout.status in (PayoutStatus.PAID, PayoutStatus.FAILED):
        _repeat_final_notice(runtime, payout)


def _hold_unconfigured(runtime: Runtime, payout: payouts.Payout) -> None:
    """No CRYPTO_PAY_TOKEN: a configuration state, not an error. The payout keeps its status
    (and its reservation), the creator is told once that payouts are unavailable; the
    clock brings held payouts back, and they go out once the token is configured."""
    logger.warning(
        "payout %s held in '%s': CRYPTO_PAY_TOKEN is not set, payouts are off until it is configured",
        payout.id,
        payout.status,
    )
    _notify(runtime, payout, "unavailable", {})


def _repeat_final_notice(runtime: Runtime, payout: payouts.Payout) -> None:
    """A delivery finding the payout already paid or failed: a worker may have died between
    committing that status and sending its notice, so send it again (the dedup key makes
    it a no-op when the first one went out)."""
    if payout.status == PayoutStatus.PAID:
        _notify(runtime, payout, PayoutStatus.PAID, {})
    else:
        _notify(runtime, payout, PayoutStatus.FAILED, {"reason_key": refusal_reason_key(payout.failure_reason)})


async def _auto_approve(runtime: Runtime, payout: payouts.Payout) -> payouts.Payout | None:
    pool = await runtime.db()
    async with pool.connection() as conn:
        user = await users.get(conn, payout.user_id)
        if user.status is not UserStatus.ACTIVE or needs_admin_approval(
            tier=user.tier, amount_rub=payout.amount_rub, gold_limit=runtime.settings.gold_auto_payout_limit_rub
        ):
            return None
        trust = trust_policy(runtime.settings)
        risk = await trust_signals.creator_risk(conn, user.id, rules=trust.risk, window=trust.risk_window)
        if not risk.low:  # a signal on a Gold creator: a person looks at this withdrawal
            logger.info("payout %s of gold user %s waits for an admin: risk score %s", payout.id, user.id, risk.score)
            return None
        approved = await payouts.transition(
            conn,
            payout_id=payout.id,
            to_status=PayoutStatus.APPROVED,
            from_statuses=(PayoutStatus.REQUESTED,),
            decided_by=SYSTEM_ADMIN_ID,
            decision_reason="gold tier, under the automatic limit",
        )
        if approved is not None:
            get_metrics().payouts.labels(status=PayoutStatus.APPROVED).inc()
        return approved or await payouts.get(conn, payout.id)


async def _start_sending(runtime: Runtime, payout: payouts.Payout) -> payouts.Payout | None:
    """Fix the amounts at a fresh rate and commit 'sending'; None when the payout must wait."""
    try:
        rate = await current_rate(
            runtime, asset=payout.asset, max_age=timedelta(seconds=runtime.settings.rate_max_age_seconds)
        )
    except RateStale as exc:
        logger.info("payout %s waits for a fresh rate: %s", payout.id, exc)
        runtime.send(REFRESH_RATES)
        runtime.send(PROCESS_PAYOUT, payout.id, delay_ms=STALE_RATE_RETRY_MS)
        return None
    asset_amount = convert_rub_to_asset(amount_rub=payout.amount_rub, rate_rub_per_asset=rate.rate, asset=payout.asset)
    pool = await runtime.db()
    if asset_amount <= 0:
        async with pool.connection() as conn:
            failed = await payouts.transition(
                conn,
                payout_id=payout.id,
                to_status=PayoutStatus.FAILED,
                from_statuses=(PayoutStatus.APPROVED,),
                failure_reason="AMOUNT_TOO_SMALL",
            )
        await runtime.creators_changed(payout.user_id)  # the release committed (now or in an earlier delivery)
        if failed is not None:
            await _tell_failed(runtime, failed, "AMOUNT_TOO_SMALL")
        return None
    # 'sending' and its "approved" notice commit together, before the transfer
    async with unit_of_work(pool) as conn:
        sending = await payouts.transition(
            conn,
            payout_id=payout.id,
            to_status=PayoutStatus.SENDING,
            from_statuses=(PayoutStatus.APPROVED,),
            asset_amount=asset_amount,
            rate=rate.rate,
            rate_fetched_at=rate.fetched_at,
        )
        if sending is None:  # another delivery moved it first; it carries on from there
            return None
        staged = await outbox.add(conn, **_notice(sending, PayoutStatus.APPROVED, {}))
    await publish(runtime, [staged])
    return sending


async def _send(runtime: Runtime, payout: payouts.Payout, *, reconcile_first: bool) -> None:
    client = await runtime.crypto_pay()
    pool = await runtime.db()
    if reconcile_first:
        found = await client.find_transfer(payout.spend_id)
        if found is not None:
            await _mark_paid(runtime, payout, found)
            return
        async with pool.connection() as conn:
            await payouts.record_attempt(conn, payout_id=payout.id)
    async with pool.connection() as conn:
        user = await users.get(conn, payout.user_id)
    if payout.asset_amount is None:  # set with the move to 'sending', so never missing here
        raise ValueError(f"payout {payout.id} in sending has no asset amount")
    transfer: Transfer | None
    try:
        transfer = await client.transfer(
            user_id=user.telegram_id,
            asset=payout.asset,
            amount=payout.asset_amount,
            spend_id=payout.spend_id,
            comment=f"ZenithMedia payout #{payout.id}",
        )
    except SpendIdAlreadyUsedError:
        transfer = await client.find_transfer(payout.spend_id)
        if transfer is None:
            raise _outcome_unknown(payout, "spend_id used but no transfer listed yet") from None
    except AmbiguousTransferError as exc:
        transfer = await client.find_transfer(payout.spend_id)
        if transfer is None:
            raise _outcome_unknown(payout, f"{exc}; not listed yet") from exc
    except TransferRejectedError as exc:
        if exc.name == INSUFFICIENT_FUNDS:
            await _wait_for_funds(runtime, payout)
            return
        async with pool.connection() as conn:
            failed = await payouts.transition(
                conn,
                payout_id=payout.id,
                to_status=PayoutStatus.FAILED,
                from_statuses=(PayoutStatus.SENDING,),
                failure_reason=exc.name or str(exc),
            )
        await runtime.creators_changed(payout.user_id)
        if failed is not None:
            await _tell_failed(runtime, failed, exc.name)
        return
    except CryptoPayConfigError as exc:
        logger.error("payout %s held: Crypto Pay app misconfigured (%s)", payout.id, exc)
        _notify(runtime, payout, "unavailable", {})
        runtime.send(PROCESS_PAYOUT, payout.id, delay_ms=CONFIG_ERROR_RETRY_MS)
        return
    await _mark_paid(runtime, payout, transfer)


async def _wait_for_funds(runtime: Runtime, payout: payouts.Payout) -> None:
    """Back to 'approved', waiting for the wallet; the creator told it is delayed, the admins
    alerted when this is the first payout of its asset to wait (both staged with the change)."""
    pool = await runtime.db()
    async with unit_of_work(pool) as conn:
        waiting, first = await payouts.wait_for_funds(conn, payout_id=payout.id)
        if waiting is None:  # another delivery moved it first
            return
        staged = [await outbox.add(conn, **_notice(waiting, "delayed", {}))]
        if first:
            staged += await _stage_wallet_alert(runtime, conn, waiting)
    get_metrics().payouts.labels(status="waiting_for_funds").inc()
    logger.warning(
        "payout %s waits: the Crypto Pay wallet is short of %s (INSUFFICIENT_FUNDS); it is sent once getBalance shows the funds",
        payout.id,
        payout.asset,
    )
    await publish(runtime, staged)


async def _stage_wallet_alert(
    runtime: Runtime, conn: psycopg.AsyncConnection, payout: payouts.Payout
) -> list[outbox.OutboxEntry | None]:
    """One alert per admin that the wallet ran dry, named by the first payout left waiting."""
    logger.error(
        "Crypto Pay wallet is short of %s: payout %s and any after it wait until the app's wallet is funded",
        payout.asset,
        payout.id,
    )
    staged = []
    for telegram_id in sorted(runtime.settings.admin_ids):
        admin = await users.find_by_telegram_id(conn, telegram_id)
        if admin is None:  # never opened the bot: the error line above is all it gets
            continue
        params = {
            "payout_id": payout.id,
            "asset": payout.asset,
            "asset_amount": str(payout.asset_amount or 0),
            "amount": str(payout.amount_rub),
        }
        staged.append(
            await outbox.add(
                conn,
                user_id=admin.id,
                key="notify.admin.wallet_empty",
                params=params,
                dedup_key=f"wallet-empty:{payout.asset}:{payout.id}:{admin.id}",
            )
        )
    return staged


async def _end_wait_if_funded(runtime: Runtime, payout: payouts.Payout) -> payouts.Payout | None:
    """The waiting payout, no longer waiting, if getBalance shows enough of its asset; else None."""
    client = await runtime.crypto_pay()
    available = next(
        (balance.available for balance in await client.get_balance() if balance.currency_code == payout.asset),
        Decimal(0),
    )
    needed = payout.asset_amount or Decimal(0)
    if available < needed or available <= 0:
        logger.info("payout %s still waits: wallet has %s %s, needs %s", payout.id, available, payout.asset, needed)
        return None
    pool = await runtime.db()
    async with pool.connection() as conn:
        resumed = await payouts.end_funds_wait(conn, payout_id=payout.id)
    if resumed is not None:
        logger.info("payout %s: the wallet has %s %s again, sending", payout.id, available, payout.asset)
    return resumed


def _outcome_unknown(payout: payouts.Payout, why: str) -> TransferOutcomeUnknown:
    logger.warning(
        "payout %s: transfer outcome unknown (%s); it stays in 'sending' and is reconciled on the next try",
        payout.id,
        why,
    )
    return TransferOutcomeUnknown(f"payout {payout.id}: {why}")


async def _mark_paid(runtime: Runtime, payout: payouts.Payout, transfer: Transfer) -> None:
    pool = await runtime.db()
    async with pool.connection() as conn:
        paid = await payouts.transition(
            conn,
            payout_id=payout.id,
            to_status=PayoutStatus.PAID,
            from_statuses=(PayoutStatus.SENDING,),
            provider_transfer_id=str(transfer.transfer_id),
        )
    await runtime.creators_changed(payout.user_id)  # the settlement committed (now or in an earlier delivery)
    if paid is None:
        return
    get_metrics().payouts.labels(status=PayoutStatus.PAID).inc()
    _notify(runtime, paid, PayoutStatus.PAID, {})


async def _tell_failed(runtime: Runtime, payout: payouts.Payout, name: str | None) -> None:
    get_metrics().payouts.labels(status=PayoutStatus.FAILED).inc()
    _notify(runtime, payout, PayoutStatus.FAILED, {"reason_key": refusal_reason_key(name)})


ACTORS = (
    ActorSpec(
        PROCESS_PAYOUT,
        process_payout,
        {
            "throws": (payouts.PayoutNotFound,),
            "max_retries": 10,
            "min_backoff": 5_000,
            "max_backoff": 600_000,
            "time_limit": 120_000,
        },
    ),
)
