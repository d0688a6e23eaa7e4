"""Fixtures that run a real supervisor process over small child programs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD = str(REPO_ROOT / "tests" / "supervisor" / "children" / "child.py")
RUN_SUPERVISOR = str(REPO_ROOT / "tests" / "supervisor" / "children" / "run_supervisor.py")

FAST_POLICY = {
    "max_restarts": 50,
    "restart_window": 60.0,
    "backoff_base": 0.2,
    "backoff_cap": 2.0,
    "healthy_after": 5.0,
    "shutdown_deadline": 8.0,
    "status_interval": 0.5,
}


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def child_pool(
    name: str,
    *,
    marker_dir: Path,
    processes: int = 1,
    restart: str = "permanent",
    heartbeat_timeout: float = 0.0,
    stop_grace: float = 3.0,
    args: tuple[str, ...] = (),
) -> dict:
    return {
        "name": name,
        "argv": [sys.executable, CHILD, "--marker-dir", str(marker_dir), *args],
        "processes": processes,
        "restart": restart,
        "heartbeat_timeout": heartbeat_timeout,
        "stop_grace": stop_grace,
    }


@dataclass
class RunningSupervisor:
    process: subprocess.Popen
    data_dir: Path
    marker_dir: Path
    log_path: Path
    extra_pids: set[int] = field(default_factory=set)

    @property
    def status_path(self) -> Path:
        return self.data_dir / "status" / "supervisor.json"

    def status(self) -> dict | None:
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def starts(self, label: str) -> list[dict]:
        """Every start of process `label` (pool.index), oldest first."""
        path = self.marker_dir / f"{label}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def all_child_pids(self) -> set[int]:
        pids = set(self.extra_pids)
        for path in self.marker_dir.glob("*.jsonl"):
            pids.update(json.loads(line)["pid"] for line in path.read_text().splitlines() if line.strip())
        return pids

    def wait_starts(self, label: str, count: int, *, timeout: float) -> list[dict]:
        return wait_until(
            lambda: len(self.starts(label)) >= count and self.starts(label),
            timeout=timeout,
            what=f"{count} starts of {label}",
        )

    def wait_exit(self, *, timeout: float = 20.0) -> int:
        """The supervisor's exit code; past `timeout` a failure that shows what it was doing.

        20 s covers the policy's bound (shutdown deadline, then 5 s for SIGKILLed processes to
        be reaped) with room for a loaded machine; the log tail says which step held it.
        """
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            tail = self.log_path.read_text(errors="replace").splitlines()[-40:]
            pytest.fail(
                f"supervisor {self.process.pid} still running after {timeout} s; its log ends:\n" + "\n".join(tail)
            )

    def logs(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines


class SupervisorRunner:
    """Starts supervisor processes in one test's folder and kills everything afterwards."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marker_dir = root / "markers"
        self.marker_dir.mkdir()
        self.data_dir = root / "data"
        self.started: list[RunningSupervisor] = []

    def pool(self, name: str, **options: Any) -> dict:
        return child_pool(name, marker_dir=self.marker_dir, **options)

    def start(self, pools: list[dict], **policy: Any) -> RunningSupervisor:
        log_path = self.root / f"supervisor-{len(self.started)}.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DATA_DIR": str(self.data_dir),
            "REDIS_URL": "",
            "BROKER_URL": "",
        }
        config = {"pools": pools, "policy": {**FAST_POLICY, **policy}}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, RUN_SUPERVISOR, json.dumps(config)],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = RunningSupervisor(
            process=process, data_dir=self.data_dir, marker_dir=self.marker_dir, log_path=log_path
        )
        self.started.append(running)
        return running

    def cleanup(self) -> None:
        for running in self.started:
            if running.process.poll() is None:
                running.process.kill()
            running.process.wait(timeout=10)
            for pid in running.all_child_pids():
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass


@pytest.fixture
def supervisors(tmp_path):
    """A SupervisorRunner; every supervisor and child it started is killed afterwards."""
    runner = SupervisorRunner(tmp_path)
    try:
        yield runner
    finally:
        runner.cleanup()
