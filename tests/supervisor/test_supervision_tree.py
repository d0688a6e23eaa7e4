"""The supervision tree with real child processes: each pool has its own restart budget.

A kill storm on one pool exhausts that pool's budget only: it is stopped, logged at
ERROR and shown as failed, while the other pools keep their processes. A critical pool
that fails, or the last pool running that fails, stops the supervisor with exit 1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.supervisor.conftest import REPO_ROOT, pid_alive, wait_until


def _events(sup, event: str) -> list[dict]:
    return [line for line in sup.logs() if line.get("event") == event]


def _pools(sup) -> dict[str, dict]:
    return {pool["name"]: pool for pool in (sup.status() or {}).get("pools", [])}


def _zenith_status(data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(data_dir), "REDIS_URL": "", "BROKER_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "zenith", "status"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=30
    )


def _kill_running(sup, pool: str, processes: int) -> int:
    """SIGKILL every running process of `pool` per the status file; how many were killed."""
    killed = 0
    for slot in _pools(sup).get(pool, {}).get("slots", [])[:processes]:
        if slot["state"] == "running" and slot["pid"]:
            try:
                os.kill(slot["pid"], signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def test_kill_storm_on_one_pool_fails_that_pool_only(supervisors):
    sup = supervisors.start(
        [supervisors.pool("steady", processes=2), supervisors.pool("storm", processes=2), supervisors.pool("other")],
        backoff_base=0.2,
        backoff_cap=1.0,
        max_restarts=6,
        restart_window=60.0,
        status_interval=0.2,
    )
    steady = [sup.wait_starts(f"steady.{i}", 1, timeout=10)[0] for i in range(2)]
    other = sup.wait_starts("other.0", 1, timeout=10)[0]
    sup.wait_starts("storm.1", 1, timeout=10)
    storm_began = time.monotonic()
    kills = 0
    while not _events(sup, "pool_failed") and time.monotonic() - storm_began < 30:
        kills += _kill_running(sup, "storm", 2)
        time.sleep(1.0)
    failed_after = time.monotonic() - storm_began
    print(f"storm pool failed {failed_after:.1f} s into a 1 s SIGKILL storm ({kills} kills)")
    failed = _events(sup, "pool_failed")
    assert [e["pool"] for e in failed] == ["storm"] and failed[0]["level"] == "ERROR"
    wait_until(
        lambda: (
            _pools(sup)["storm"]["state"] == "failed"
            and all(s["state"] == "failed" for s in _pools(sup)["storm"]["slots"])
        ),
        timeout=10,
        what="storm pool shown failed",
    )
    storm_pids = {start["pid"] for i in range(2) for start in sup.starts(f"storm.{i}")}
    wait_until(
        lambda: not [pid for pid in storm_pids if pid_alive(pid)], timeout=10, what="every storm process stopped"
    )
    starts_at_failure = sum(len(sup.starts(f"storm.{i}")) for i in range(2))
    # The budget: 6 restarts, then the 7th death fails the pool (a restart still in its
    # backoff wait at that moment is cancelled).
    assert len([e for e in _events(sup, "process_restart_scheduled") if e["pool"] == "storm"]) == 6
    assert starts_at_failure <= 2 + 6

    time.sleep(1.5)
    assert sum(len(sup.starts(f"storm.{i}")) for i in range(2)) == starts_at_failure  # it stays down
    # The other pools never noticed: same processes, alive, no restart, supervisor running.
    assert sup.process.poll() is None
    assert [sup.starts(f"steady.{i}") for i in range(2)] == [[steady[0]], [steady[1]]] and sup.starts("other.0") == [
        other
    ]
    assert all(pid_alive(start["pid"]) for start in (*steady, other))
    pools = _pools(sup)
    assert pools["steady"]["state"] == pools["other"]["state"] == "running" and pools["steady"]["restarts"] == 0
    assert sup.status()["supervisor"]["state"] == "running" and sup.status()["supervisor"]["failed_pools"] == ["storm"]
    assert not [e for e in sup.logs() if e.get("level") == "ERROR" and e.get("event") != "pool_failed"]

    shown = _zenith_status(sup.data_dir)
    print(shown.stdout)
    assert shown.returncode == 2
    assert "pool storm FAILED: restart intensity exceeded" in shown.stdout

    sup.process.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    assert not [pid for pid in sup.all_child_pids() if pid_alive(pid)]


def test_failed_critical_pool_stops_everything_with_exit_1(supervisors):
    sup = supervisors.start(
        [supervisors.pool("serving"), supervisors.pool("vital", args=("--exit-after", "0", "--code", "1"))],
        backoff_base=0.1,
        backoff_cap=0.5,
        max_restarts=3,
        critical_pools=["vital"],
    )
    serving = sup.wait_starts("serving.0", 1, timeout=30)[0]
    assert sup.process.wait(timeout=60) == 1
    assert len(sup.starts("vital.0")) == 4
    assert [e["pool"] for e in _events(sup, "critical_pool_failed")] == ["vital"]
    assert not pid_alive(serving["pid"])
    status = sup.status()
    assert (
        status["supervisor"]["state"] == "failed"
        and "critical pool vital failed" in status["supervisor"]["stop_reason"]
    )


def test_supervisor_exits_1_when_no_pool_is_left_running(supervisors):
    sup = supervisors.start(
        [
            supervisors.pool("done", restart="transient", args=("--exit-after", "0.1")),
            supervisors.pool("crashing", args=("--exit-after", "0", "--code", "2")),
        ],
        backoff_base=0.1,
        backoff_cap=0.5,
        max_restarts=2,
    )
    assert sup.process.wait(timeout=20) == 1
    assert [e["failed"] for e in _events(sup, "all_pools_down")] == ["crashing"]
    pools = _pools(sup)
    assert pools["done"]["state"] == "finished" and pools["crashing"]["state"] == "failed"


def test_backoff_of_a_process_that_was_healthy_resets(supervisors):
    # Each process lives 1.2 s, longer than healthy_after: every restart comes after the
    # first delay again instead of doubling (a pool that is fine between rare crashes).
    sup = supervisors.start(
        [supervisors.pool("rare", args=("--exit-after", "1.2", "--code", "1"))],
        backoff_base=0.2,
        backoff_cap=10.0,
        healthy_after=1.0,
        max_restarts=20,
    )
    sup.wait_starts("rare.0", 5, timeout=20)
    delays = [e["delay"] for e in _events(sup, "process_restart_scheduled")]
    print("delays after healthy runs:", delays)
    assert len(delays) >= 4 and all(0.15 <= delay <= 0.25 for delay in delays)


def test_backoff_of_a_pool_healthy_for_a_while_is_reset_while_it_runs(supervisors):
    # Three quick crashes grow the backoff; then the process stays up: once it has been
    # healthy for healthy_after seconds its backoff is back to zero in the status, and a
    # later crash is restarted after the first delay again.
    marker = supervisors.root / "crash-count"
    sup = supervisors.start(
        [
            supervisors.pool(
                "flaky", args=("--exit-after", "0.1", "--code", "1", "--crashes-file", str(marker), "--crashes", "3")
            )
        ],
        backoff_base=0.2,
        backoff_cap=10.0,
        # well above a loaded machine's interpreter start-up, so the quick crashes
        # never count as healthy runs
        healthy_after=3.0,
        max_restarts=20,
    )
    sup.wait_starts("flaky.0", 4, timeout=20)
    wait_until(lambda: _events(sup, "process_healthy"), timeout=10, what="the process declared healthy")
    wait_until(
        lambda: _pools(sup)["flaky"]["slots"][0]["backoff"]["failures"] == 0,
        timeout=15,
        what="status shows the backoff reset",
    )
    delays = [e["delay"] for e in _events(sup, "process_restart_scheduled")]
    assert len(delays) == 3 and delays[2] > delays[0]  # it had grown
    os.kill(sup.starts("flaky.0")[-1]["pid"], signal.SIGKILL)
    sup.wait_starts("flaky.0", 5, timeout=10)
    assert 0.15 <= _events(sup, "process_restart_scheduled")[-1]["delay"] <= 0.25
