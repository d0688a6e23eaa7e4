"""The real commands as processes: `zenith worker --processes 2` shares one queue and
stops cleanly on SIGTERM; the whole pipeline runs with `zenith worker` + `zenith clock`
against the fakes and the Telegram sandbox, and `zenith ledger check` is clean after."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from tests.actors.conftest import REPO_ROOT, eventually, new_channel_id, new_youtube_id
from tests.view_history import let_time_pass
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import NOTIFY, PROCESS_PAYOUT, SUBMIT_VIDEO, send
from zenith.storage import accounts, ledger, payouts, users
from zenith.storage.db import fetch_all, open_pool, unit_of_work


def _children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


async def _wait_exit(process: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert process.poll() is not None, f"pid {process.pid} still running {timeout}s after SIGTERM"
    return process.returncode


async def test_two_worker_processes_share_a_queue_each_message_once_and_stop_on_sigterm(
    spawn, actor_env, make_settings, sandbox, make_user, redis_url
):
    state, _ = sandbox
    people = [await make_user() for _ in range(20)]
    for user in people:
        state.add_user(user.telegram_id)
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    parent = spawn(
        ["-m", "zenith", "worker", "--processes", "2", "--queues", "notifications", "--threads", "2"], env=actor_env
    )
    try:
        children = await eventually(
            lambda: (lambda c: c if len(c) == 2 else None)(_children_of(parent.pid)),
            timeout=20,
            what="two worker children",
        )
        for user in people:  # no dedup key: a message processed twice would show twice
            send(NOTIFY, user.id, "notify.user.unbanned", {}, None, None, broker=broker)
        for user in people:
            await eventually(lambda u=user: state.messages_for(u.telegram_id), timeout=30, what="every user notified")
        await asyncio.sleep(1.0)
        assert [len(state.messages_for(u.telegram_id)) for u in people] == [1] * len(people)

        parent.send_signal(signal.SIGTERM)
        assert await _wait_exit(parent, timeout=30) == 0
        assert all(
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text() for pid in children
        )
    finally:
        broker.close()


async def test_the_pipeline_runs_on_worker_and_clock_processes(
    spawn, actor_env, clean_database_url, redis_url, make_settings, sandbox, fake_youtube, fake_cryptopay
):
    state, _ = sandbox
    env = {
        **actor_env,
        "DATABASE_URL": clean_database_url,
        "CLOCK_TICK_SECONDS": "0.5",
        "CHECK_SCHEDULE": "0-:2s",
        "MIN_VIEWS": "0",
    }
    settings = make_settings(**env)
    pool = await open_pool(clean_database_url, min_size=1, max_size=4)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    try:
        telegram_id = int(time.time() * 1000) % 10**9 * 10 + 7
        channel, video_id = new_channel_id(), new_youtube_id()
        async with pool.connection() as conn:
            user = await users.get_or_create(conn, telegram_id=telegram_id, language="en", first_name="Creator")
            user = await users.set_tier(conn, user_id=user.id, tier="gold")
            account = await accounts.create_pending(
                conn,
                user_id=user.id,
                platform="youtube",
                handle="pipeline",
                verification_code="ZM-ABCDEFGH",
                external_id=channel,
            )
            await accounts.mark_verified(conn, account_id=account.id, external_id=channel)
        state.add_user(telegram_id)
        fake_cryptopay.state.known_users.add(telegram_id)
        fake_youtube.state.add_video(video_id, views=10_000, channel_id=channel)

        worker = spawn(["-m", "zenith", "worker", "--threads", "4"], env=env)
        clock = spawn(["-m", "zenith", "clock"], env=env)
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", uuid.uuid4().hex, broker=broker)

        async def credited(amount: str):
            async with pool.connection() as conn:
                rows = await fetch_all(conn, "SELECT credited FROM videos WHERE user_id = %s", (user.id,))
            return rows and rows[0]["credited"] == Decimal(amount)

        await eventually(lambda: credited("650.00"), timeout=40, what="first check credited")
        async with (
            pool.connection() as conn
        ):  # the re-check comes hours later: 10,000 more views is ordinary growth, not a spike to hold
            stored = await fetch_all(conn, "SELECT id FROM videos WHERE user_id = %s", (user.id,))
        await let_time_pass(pool, stored[0]["id"], 3)
        fake_youtube.state.set_views(video_id, 20_000)
        await eventually(lambda: credited("1300.00"), timeout=30, what="the clock's re-check credited the delta")

        async with unit_of_work(pool) as conn:
            payout, _ = await payouts.create_requested(
                conn, user_id=user.id, amount_rub=Decimal("924.50"), asset="USDT", request_id=uuid.uuid4().hex
            )
        send(PROCESS_PAYOUT, payout.id, broker=broker)  # what the bot sends after creating it

        async def paid():
            async with pool.connection() as conn:
                return (await payouts.get(conn, payout.id)).status == "paid"

        await eventually(paid, timeout=40, what="payout paid")
        await state.wait_for_message(telegram_id, contains="sent: 10 USDT", timeout=15)

        for process in (worker, clock):
            process.send_signal(signal.SIGTERM)
        assert [await _wait_exit(p, timeout=30) for p in (worker, clock)] == [0, 0]
        async with pool.connection() as conn:
            transfers = await fetch_all(
                conn,
                "SELECT kind, amount FROM ledger_transfers WHERE from_account = %s OR to_account = %s ORDER BY id",
                (ledger.available_account(user.id), ledger.available_account(user.id)),
            )
            balances = await ledger.balances(conn, user.id)
        assert [(t["kind"], t["amount"]) for t in transfers] == [
            ("earning", Decimal("650.00")),
            ("earning", Decimal("650.00")),
            ("reserve", Decimal("924.50")),
        ]
        assert (balances.available, balances.reserved, balances.paid_out) == (
            Decimal("375.50"),
            Decimal("0.00"),
            Decimal("924.50"),
        )
        assert len(fake_cryptopay.state.transfers_for(payout.spend_id)) == 1
        check = subprocess.run(
            [sys.executable, "-m", "zenith", "ledger", "check"],
            cwd=REPO_ROOT,
            env={**env, "PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        print(f"\nzenith ledger check: {check.stdout.strip()}")
    finally:
        broker.close()
        await pool.close()
