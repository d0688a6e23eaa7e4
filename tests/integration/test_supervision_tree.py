"""`zenith supervise` with real worker and web processes: each pool has its own budget.

A SIGKILL storm on the parsing workers fails the parsing pool alone: the web process
keeps its pid and keeps answering /healthz, the rates worker keeps its pid. A web
process that can never bind its port stops being restarted once its budget is spent and
is reported failed, while the workers keep running.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request

from tests.conftest import TEST_REDIS_URL
from tests.integration.conftest import describe, free_port, running_pid, supervisor_status, wait_until


def _env(database_url, namespace, data_dir, port, **extra) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_NAMESPACE": namespace,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "TELEGRAM_BOT_TOKEN": "123456:not-used-by-web-without-a-webhook",
        "SUPERVISOR_STATUS_INTERVAL_SECONDS": "0.5",
        "SUPERVISOR_BACKOFF_BASE_SECONDS": "0.5",
        "SUPERVISOR_BACKOFF_CAP_SECONDS": "2",
        "SUPERVISOR_POOL_MAX_RESTARTS": "4",
        "SUPERVISOR_POOL_RESTART_WINDOW": "120",
        **extra,
    }


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except OSError:
        return None


def _pool(data_dir, name: str) -> dict:
    return next(pool for pool in (supervisor_status(data_dir) or {}).get("pools", []) if pool["name"] == name)


def test_kill_storm_on_parsing_leaves_web_and_rates_serving(tree, migrated_database_url, redis_namespace, tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    procs = tree(_env(migrated_database_url, redis_namespace, data_dir, port))
    supervisor = procs.zenith("supervise", "--pools", "parsing,rates,web", name="supervise")
    wait_until(lambda: _healthz(port) == 200, timeout=90, what="web answering /healthz")
    web_pid = wait_until(lambda: running_pid(data_dir, "web"), timeout=30, what="web running")
    rates_pid = wait_until(lambda: running_pid(data_dir, "rates"), timeout=30, what="rates running")
    wait_until(lambda: running_pid(data_dir, "parsing"), timeout=30, what="parsing running")

    began = time.monotonic()
    kills, probes, answered = 0, 0, 0
    while _pool(data_dir, "parsing")["state"] != "failed":
        assert time.monotonic() - began < 90, procs.log_tail("supervise")
        pid = running_pid(data_dir, "parsing")
        if pid:
            os.kill(pid, signal.SIGKILL)
            kills += 1
        deadline = time.monotonic() + 1.0  # one kill a second; probe the web meanwhile
        while time.monotonic() < deadline:
            probes += 1
            answered += _healthz(port) == 200
            time.sleep(0.2)
    failed_after = time.monotonic() - began
    print(
        f"\nparsing pool failed {failed_after:.1f} s into a 1 s SIGKILL storm ({kills} kills); "
        f"web answered {answered}/{probes} /healthz probes meanwhile"
    )

    assert supervisor.poll() is None, procs.log_tail("supervise")
    assert answered == probes  # the web never missed a beat
    assert running_pid(data_dir, "web") == web_pid and running_pid(data_dir, "rates") == rates_pid
    status = supervisor_status(data_dir)
    assert status["supervisor"]["state"] == "running" and status["supervisor"]["failed_pools"] == ["parsing"]
    assert _pool(data_dir, "web")["restarts"] == 0 and _pool(data_dir, "rates")["restarts"] == 0
    failed = procs.events("supervise", "pool_failed")
    assert [(e["pool"], e["level"]) for e in failed] == [("parsing", "ERROR")]
    shown = procs.run_zenith("status")
    assert shown.returncode == 2 and "pool parsing FAILED" in shown.stdout, shown.stdout

    time.sleep(3)  # the failed pool stays down; the others still serve
    assert running_pid(data_dir, "parsing") is None and _healthz(port) == 200
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=40) == 0
    wait_until(lambda: not procs.pids(), timeout=15, what=f"every process gone (left: {describe(procs.pids())})")


def test_web_that_cannot_bind_its_port_is_given_up_and_reported(tree, migrated_database_url, redis_namespace, tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        procs = tree(_env(migrated_database_url, redis_namespace, data_dir, port))
        supervisor = procs.zenith("supervise", "--pools", "rates,web", name="supervise")
        rates_pid = wait_until(lambda: running_pid(data_dir, "rates"), timeout=60, what="rates running")
        began = time.monotonic()
        wait_until(
            lambda: _pool(data_dir, "web")["state"] == "failed",
            timeout=120,
            what=f"web given up ({procs.log_tail('supervise', 20)})",
        )
        print(f"\nweb without its port given up {time.monotonic() - began:.1f} s after rates started")
        web = _pool(data_dir, "web")
        assert web["restarts"] == 4 and "restart intensity exceeded" in web["failed_reason"]
        assert web["slots"][0]["state"] == "failed" and web["slots"][0]["last_exit"]["reason"].startswith("exit code")
        exits = [e for e in procs.events("supervise", "process_exited") if e["pool"] == "web"]
        time.sleep(4)  # longer than the backoff cap: no further attempt
        assert len([e for e in procs.events("supervise", "process_exited") if e["pool"] == "web"]) == len(exits) == 5
        assert supervisor.poll() is None and running_pid(data_dir, "rates") == rates_pid
        shown = procs.run_zenith("status")
        assert shown.returncode == 2 and "pool web FAILED" in shown.stdout, shown.stdout
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=40) == 0
