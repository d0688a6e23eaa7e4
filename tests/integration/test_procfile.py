"""The Procfiles as they are, run by honcho (what Heroku's process model does locally)."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request

from tests.conftest import TEST_REDIS_URL
from tests.integration.conftest import REPO_ROOT, VENV_BIN, describe, free_port, running_pid, wait_until


def _honcho(*args: str) -> list[str]:
    return [str(VENV_BIN / "honcho"), *args]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_procfiles_are_valid():
    for procfile in ("Procfile", "Procfile.single"):
        checked = subprocess.run(
            _honcho("check", "-f", procfile), cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_honcho_runs_release_then_web_worker_and_clock(tree, empty_database_url, redis_namespace, tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    procs = tree(
        {
            "DATABASE_URL": empty_database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "REDIS_NAMESPACE": redis_namespace,
            "DATA_DIR": str(data_dir),
            "PORT": str(port),  # honcho's base port: the first process it starts (web) gets it
            "SUPERVISOR_POOLS": "parsing",  # the worker dyno, kept small for the test
            "TELEGRAM_BOT_TOKEN": "123456:not-used-by-web-without-a-webhook",
            # the clock logs a tick only when it did something; with a Crypto Pay token its
            # first tick sends refresh_rates (no rates pool runs here, so nothing calls this URL)
            "CRYPTO_PAY_TOKEN": "1:not-used-no-rates-worker",
            "CRYPTO_PAY_URL": "http://127.0.0.1:9/api",
        }
    )
    # Heroku runs `release` alone, before the new processes start.
    release = procs.start(_honcho("start", "-f", "Procfile", "release"), name="honcho-release")
    assert release.wait(timeout=60) == 0, procs.log_tail("honcho-release")
    assert "applied migration 0001_initial" in (tmp_path / "honcho-release.log").read_text()

    honcho = procs.start(_honcho("start", "-f", "Procfile", "web", "worker", "clock"), name="honcho")
    wait_until(lambda: _healthy(port), timeout=60, what=f"web answering on $PORT={port}")
    wait_until(
        lambda: running_pid(data_dir, "parsing"), timeout=60, what="the worker dyno's supervisor running its pool"
    )
    wait_until(lambda: "clock tick" in (tmp_path / "honcho.log").read_text(), timeout=60, what="the clock ticking")
    assert len(procs.pids()) >= 5, describe(procs.pids())  # honcho, web, supervise + worker, clock (and shells)

    began = time.monotonic()
    honcho.send_signal(signal.SIGTERM)
    honcho.wait(timeout=30)
    wait_until(lambda: not procs.pids(), timeout=15, what=f"every process gone (left: {describe(procs.pids())})")
    print(f"\nhoncho stopped web, worker and clock {time.monotonic() - began:.2f} s after SIGTERM")
    supervisor_log = (tmp_path / "honcho.log").read_text()
    assert "supervisor exited" in supervisor_log and "process_killed" not in supervisor_log
