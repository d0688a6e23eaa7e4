"""`zenith supervise` with real worker, clock and bot processes.

A SIGKILLed worker is replaced and its held message processed once; SIGTERM with
messages in flight stops everything in time and loses nothing; a SIGKILLed supervisor
leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from decimal import Decimal

from tests.conftest import TEST_REDIS_URL
from tests.fakes.env import platform_env
from tests.integration.conftest import (
    describe,
    earnings_by_video,
    running_pid,
    seed_gold_videos,
    send_check,
    supervisor_status,
    wait_until,
)

GOLD_20K_VIEWS = Decimal("1300.00")  # 20,000 views at the default gold rate


def _supervise_env(database_url, namespace, data_dir, youtube, **extra) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_NAMESPACE": namespace,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "INFO",
        "SUPERVISOR_STATUS_INTERVAL_SECONDS": "1",
        **platform_env(youtube=youtube),
        **extra,
    }


def _videos(youtube, count: int) -> list[str]:
    channel = "UC" + uuid.uuid4().hex[:22]
    ids = ["v" + uuid.uuid4().hex[:10] for _ in range(count)]
    for external_id in ids:
        youtube.state.add_video(external_id, views=20_000, channel_id=channel)
    return ids


def _ledger_clean(tree) -> None:
    checked = tree.run_zenith("ledger", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_sigkilled_worker_is_back_within_seconds_and_its_message_is_processed_once(
    tree, migrated_database_url, redis_namespace, gated_youtube, tmp_path
):
    youtube, gate = gated_youtube
    held_id, probe_id = _videos(youtube, 2)
    _, (held_video, probe_video) = seed_gold_videos(migrated_database_url, external_ids=[held_id, probe_id])
    gate.held.add(held_id)
    data_dir = tmp_path / "data"
    procs = tree(_supervise_env(migrated_database_url, redis_namespace, data_dir, youtube))
    supervisor = procs.zenith("supervise", "--pools", "parsing", name="supervisor")

    send_check(TEST_REDIS_URL, redis_namespace, [held_video])
    assert gate.arrived.wait(60), procs.log_tail("supervisor")
    victim = running_pid(data_dir, "parsing")
    assert victim, supervisor_status(data_dir)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    gate.released.set()  # the replacement may fetch the held video once the broker gives it back

    send_check(TEST_REDIS_URL, redis_namespace, [probe_video])
    wait_until(
        lambda: earnings_by_video(migrated_database_url, [probe_video])[probe_video],
        timeout=60,
        what="the probe credited",
    )
    serving_again = time.monotonic() - killed_at
    replacement = running_pid(data_dir, "parsing")
    print(f"\nparsing pool serving again {serving_again:.2f} s after its worker was SIGKILLed")
    assert replacement and replacement != victim
    assert serving_again < 20

    # The held message comes back once the broker sees the dead worker's heartbeat stop (~30 s).
    wait_until(
        lambda: earnings_by_video(migrated_database_url, [held_video])[held_video],
        timeout=100,
        what="the held message redelivered",
    )
    redelivered = time.monotonic() - killed_at
    print(f"held message redelivered and credited {redelivered:.1f} s after the kill")
    time.sleep(2)  # a second, duplicate delivery would show up here
    assert earnings_by_video(migrated_database_url, [held_video, probe_video]) == {
        held_video: [GOLD_20K_VIEWS],
        probe_video: [GOLD_20K_VIEWS],
    }
    slot = next(p for p in supervisor_status(data_dir)["pools"] if p["name"] == "parsing")["slots"][0]
    assert slot["restarts"] == 1 and slot["last_exit"]["reason"] == "killed by SIGKILL"
    _ledger_clean(procs)

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert not procs.pids(), describe(procs.pids())


def test_sigterm_with_messages_in_flight_stops_in_time_and_loses_nothing(
    tree, migrated_database_url, redis_namespace, gated_youtube, tmp_path
):
    youtube, gate = gated_youtube
    gate.delay = 1.5  # every videos.list call takes 1.5 s: messages are in flight when SIGTERM comes
    external_ids = _videos(youtube, 24)
    _, video_ids = seed_gold_videos(migrated_database_url, external_ids=external_ids)
    data_dir = tmp_path / "data"
    # 8 parsing threads: 24 one-video messages take three rounds, so some are still queued at SIGTERM
    procs = tree(_supervise_env(migrated_database_url, redis_namespace, data_dir, youtube, POOL_PARSING_THREADS="8"))
    supervisor = procs.zenith("supervise", "--pools", "submission", "parsing", name="supervisor")
    for video_id in video_ids:
        send_check(TEST_REDIS_URL, redis_namespace, [video_id])

    wait_until(
        lambda: any(earnings_by_video(migrated_database_url, video_ids).values()), timeout=60, what="the first credit"
    )
    credited_before = sum(1 for amounts in earnings_by_video(migrated_database_url, video_ids).values() if amounts)
    assert credited_before < len(video_ids)  # work is still in flight and queued
    children = procs.pids() - {supervisor.pid}
    began = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    code = supervisor.wait(timeout=35)
    took = time.monotonic() - began
    credited_at_stop = sum(1 for amounts in earnings_by_video(migrated_database_url, video_ids).values() if amounts)
    print(
        f"\nSIGTERM with messages in flight: all gone after {took:.2f} s; {credited_at_stop}/{len(video_ids)} credited before the stop"
    )
    assert code == 0
    assert took < 30
    assert not procs.pids(), describe(procs.pids())
    assert children and not (children & procs.pids())
    assert not procs.events("supervisor", "process_killed")  # everything stopped within its grace
    assert credited_at_stop < len(video_ids)

    # What was not finished is still queued: a new supervisor processes it, once.
    again = procs.zenith("supervise", "--pools", "parsing", name="supervisor-2")
    wait_until(
        lambda: all(earnings_by_video(migrated_database_url, video_ids).values()),
        timeout=90,
        what="every video credited",
    )
    time.sleep(2)
    assert earnings_by_video(migrated_database_url, video_ids) == {video_id: [GOLD_20K_VIEWS] for video_id in video_ids}
    status = procs.run_zenith("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    _ledger_clean(procs)
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=30) == 0


def test_sigkilled_supervisor_leaves_no_worker_clock_or_bot_behind(
    tree, migrated_database_url, redis_namespace, gated_youtube, tmp_path
):
    from zenith.sandbox.runner import start_sandbox

    youtube, _ = gated_youtube
    data_dir = tmp_path / "data"
    with start_sandbox() as sandbox:
        procs = tree(
            _supervise_env(
                migrated_database_url,
                redis_namespace,
                data_dir,
                youtube,
                TELEGRAM_BOT_TOKEN=sandbox.token,
                TELEGRAM_API_URL=sandbox.url,
            )
        )
        supervisor = procs.zenith("supervise", "--pools", "parsing", "clock", "bot", name="supervisor")
        heartbeats = data_dir / "run" / f"supervisor-{supervisor.pid}"
        # Each is really up: the worker and the clock beat, the bot polls the sandbox.
        wait_until(
            lambda: (heartbeats / "parsing.0.heartbeat").exists() and (heartbeats / "clock.0.heartbeat").exists(),
            timeout=60,
            what="worker and clock heartbeats",
        )
        wait_until(lambda: "getUpdates" in sandbox.state.calls, timeout=60, what="the bot polling")
        children = procs.pids() - {supervisor.pid}
        assert len(children) >= 3, describe(children)
        supervisor.kill()
        supervisor.wait(timeout=15)
        killed_at = time.monotonic()
        wait_until(lambda: not procs.pids(), timeout=15, what=f"no orphans (left: {describe(procs.pids())})")
        print(f"\nworker, clock and bot gone {time.monotonic() - killed_at:.2f} s after the supervisor was SIGKILLed")


def test_zenith_status_shows_the_pools_and_this_namespace_queue_depths(
    tree, migrated_database_url, redis_namespace, gated_youtube, tmp_path
):
    youtube, _ = gated_youtube
    data_dir = tmp_path / "data"
    procs = tree(_supervise_env(migrated_database_url, redis_namespace, data_dir, youtube))
    send_check(TEST_REDIS_URL, redis_namespace, [10**12])  # waits: no parsing pool runs
    supervisor = procs.zenith("supervise", "--pools", "rates", name="supervisor")
    wait_until(lambda: running_pid(data_dir, "rates"), timeout=30, what="the rates pool running")
    shown = procs.run_zenith("status")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "rates" in shown.stdout and "1/1" in shown.stdout
    depths = {
        line.split()[0]: int(line.split()[1])
        for line in shown.stdout.splitlines()
        if line.split()[:1]
        and line.split()[0] in ("submission", "parsing", "rates", "payouts", "notifications")
        and len(line.split()) == 2
    }
    assert depths["parsing"] == 1, shown.stdout
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
