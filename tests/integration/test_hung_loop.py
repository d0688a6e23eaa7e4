"""A bot or web process whose event loop is blocked is seen as hung and restarted.

The processes are the real `zenith bot` (polling the sandbox) and `zenith web` under
`zenith supervise` with an 8 s heartbeat timeout. A `sitecustomize` module put on the
children's PYTHONPATH (and active only in the pools named by ``BLOCK_LOOP_POOLS``)
makes SIGUSR1 block the main thread -- the event loop's thread -- while the heartbeat
thread keeps running: only the loop-liveness check can notice.
"""

from __future__ import annotations

import os
import signal
import time

from tests.conftest import TEST_REDIS_URL
from tests.integration.conftest import REPO_ROOT, free_port, running_pid, supervisor_status, wait_until

BLOCKER = """
import os, signal, time
if os.environ.get("ZENITH_POOL") in os.environ.get("BLOCK_LOOP_POOLS", "").split(","):
    # a Python signal handler runs in the main thread: the event loop stops turning
    signal.signal(signal.SIGUSR1, lambda *_: time.sleep(3600))
"""
HEARTBEAT_TIMEOUT = 8  # seconds; the heartbeat touches every 5 s, the loop may lag 10 s


def _slot(data_dir, pool: str) -> dict:
    status = supervisor_status(data_dir) or {"pools": []}
    return next(entry for entry in status["pools"] if entry["name"] == pool)["slots"][0]


def test_blocked_event_loop_of_bot_and_web_is_detected_as_hung(tree, migrated_database_url, redis_namespace, tmp_path):
    from zenith.sandbox.runner import start_sandbox

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(BLOCKER)
    data_dir = tmp_path / "data"
    with start_sandbox() as sandbox:
        procs = tree(
            {
                "DATABASE_URL": migrated_database_url,
                "REDIS_URL": TEST_REDIS_URL,
                "REDIS_NAMESPACE": redis_namespace,
                "DATA_DIR": str(data_dir),
                "LOG_LEVEL": "INFO",
                "SUPERVISOR_STATUS_INTERVAL_SECONDS": "1",
                "TELEGRAM_BOT_TOKEN": sandbox.token,
                "TELEGRAM_API_URL": sandbox.url,
                "PORT": str(free_port()),
                "PYTHONPATH": f"{hooks}{os.pathsep}{REPO_ROOT}",
                "BLOCK_LOOP_POOLS": "bot,web",
                "POOL_BOT_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
                "POOL_WEB_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            }
        )
        supervisor = procs.zenith("supervise", "--pools", "bot", "web", name="supervisor")
        heartbeats = data_dir / "run" / f"supervisor-{supervisor.pid}"
        wait_until(lambda: "getUpdates" in sandbox.state.calls, timeout=90, what="the bot polling")
        wait_until(
            lambda: (heartbeats / "bot.0.heartbeat").exists() and (heartbeats / "web.0.heartbeat").exists(),
            timeout=60,
            what="bot and web heartbeats",
        )
        # healthy for longer than the timeout: a turning loop keeps the heartbeat going
        pids = {pool: running_pid(data_dir, pool) for pool in ("bot", "web")}
        time.sleep(HEARTBEAT_TIMEOUT + 2)
        assert {pool: running_pid(data_dir, pool) for pool in pids} == pids
        assert not procs.events("supervisor", "process_hung")

        blocked_at = time.monotonic()
        for pid in pids.values():
            os.kill(pid, signal.SIGUSR1)
        for pool in pids:
            wait_until(
                lambda pool=pool: (_slot(data_dir, pool).get("last_exit") or {}).get("reason") == "hung",
                timeout=60,
                what=f"{pool} seen as hung",
            )
        print(
            f"\nblocked event loops of bot and web detected as hung {time.monotonic() - blocked_at:.1f} s after the block"
        )
        hung = {event["pool"]: event["child_pid"] for event in procs.events("supervisor", "process_hung")}
        assert hung == pids
        # and each was replaced by a new process
        for pool, pid in pids.items():
            wait_until(
                lambda pool=pool, pid=pid: running_pid(data_dir, pool) not in (None, pid),
                timeout=60,
                what=f"{pool} restarted",
            )
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
