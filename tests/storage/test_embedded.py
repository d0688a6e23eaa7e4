"""Embedded PostgreSQL and Redis across a SIGKILLed owner: the next start works (reuses
the servers left running, or starts afresh over a stale postmaster.pid) and a normal
exit stops them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _running(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None


def _wait_gone(pids: list[int], timeout: float = 30.0, *, reaped: bool = False) -> None:
    """Until none of ``pids`` runs (``reaped``: until they are gone from the process table too)."""
    deadline = time.monotonic() + timeout
    while any(psutil.pid_exists(pid) if reaped else _running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[pid for pid in pids if _running(pid)]}"
        time.sleep(0.2)


@pytest.fixture
def holders(tmp_path):
    """Start ``tests.storage.embedded_holder`` processes; they and any server they left are killed afterwards."""
    started: list[subprocess.Popen] = []
    servers: list[int] = []

    def start(seconds: float) -> tuple[subprocess.Popen, dict]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.embedded_holder", str(tmp_path / "data"), str(seconds)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        line = process.stdout.readline()
        assert line, f"holder exited with {process.wait(timeout=60)}"
        seen = json.loads(line)
        servers.extend(pid for pid in (_postmaster_pid(tmp_path / "data"), seen["redis_pid"]) if pid)
        return process, seen

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    for pid in servers:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def test_after_a_sigkill_the_next_start_reuses_the_servers_and_stops_them_when_it_exits(holders, tmp_path):
    data_dir = tmp_path / "data"
    first, seen = holders(600)
    postmaster, redis_pid = _postmaster_pid(data_dir), seen["redis_pid"]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(0.5)
    assert _running(postmaster) and _running(redis_pid)  # what a SIGKILL leaves behind

    second, seen_again = holders(0)
    assert second.wait(timeout=60) == 0
    assert (seen_again["visits"], seen_again["redis_visits"]) == (2, 2)  # same servers, same data
    assert seen_again["redis_pid"] == redis_pid
    _wait_gone([postmaster, redis_pid])  # the normal exit stopped both


def test_a_stale_postmaster_pid_of_another_process_does_not_stop_the_next_start(holders, tmp_path):
    data_dir = tmp_path / "data"
    first, seen = holders(600)
    postmaster = _postmaster_pid(data_dir)
    for pid in (first.pid, postmaster, seen["redis_pid"]):  # the whole machine went down
        os.kill(pid, signal.SIGKILL)
    first.wait(timeout=10)
    _wait_gone([postmaster, seen["redis_pid"]], reaped=True)  # PostgreSQL would take a zombie's pid for a live server
    lock = data_dir / "postgres" / "postmaster.pid"
    lines = lock.read_text().split("\n")
    lock.write_text("\n".join([str(os.getpid()), *lines[1:]]))  # the pid now belongs to another process

    second, seen_again = holders(0)
    assert second.wait(timeout=60) == 0
    assert seen_again["visits"] == 2  # committed before the crash, recovered
    _wait_gone([seen_again["redis_pid"]])
    assert not lock.exists() or not _running(_postmaster_pid(data_dir))
