"""The supervisor with real child processes: restarts, backoff, a pool's intensity, hangs, shutdown."""

from __future__ import annotations

import os
import signal
import time

from tests.supervisor.conftest import pid_alive, wait_until


def _events(sup, event: str) -> list[dict]:
    return [line for line in sup.logs() if line.get("event") == event]


def _slot(sup, pool: str, index: int = 0) -> dict:
    status = sup.status()
    return next(p for p in status["pools"] if p["name"] == pool)["slots"][index]


def test_sigkilled_child_is_back_within_seconds(supervisors):
    sup = supervisors.start([supervisors.pool("alpha"), supervisors.pool("beta")], backoff_base=0.5)
    first = sup.wait_starts("alpha.0", 1, timeout=10)[0]
    beta = sup.wait_starts("beta.0", 1, timeout=10)[0]
    killed_at = time.time()
    os.kill(first["pid"], signal.SIGKILL)
    second = sup.wait_starts("alpha.0", 2, timeout=10)[1]
    back_after = second["at"] - killed_at
    print(f"killed child replaced after {back_after:.3f} s")
    assert second["pid"] != first["pid"]
    assert back_after < 2.0
    wait_until(
        lambda: _slot(sup, "alpha")["restarts"] == 1 and _slot(sup, "alpha")["state"] == "running",
        timeout=15,
        what="status shows the restart",
    )
    assert _slot(sup, "alpha")["last_exit"]["reason"] == "killed by SIGKILL"
    assert sup.starts("beta.0") == [beta] and pid_alive(beta["pid"])  # one_for_one: beta untouched


def test_normal_exit_of_temporary_and_transient_is_not_restarted(supervisors):
    sup = supervisors.start(
        [
            supervisors.pool("temp", restart="temporary", args=("--exit-after", "0.2")),
            supervisors.pool("trans", restart="transient", args=("--exit-after", "0.2")),
            supervisors.pool("transcrash", restart="transient", args=("--exit-after", "0.2", "--code", "3")),
            supervisors.pool("tempcrash", restart="temporary", args=("--exit-after", "0.2", "--code", "3")),
            supervisors.pool("keeper"),
        ]
    )
    sup.wait_starts("transcrash.0", 2, timeout=10)
    wait_until(
        lambda: _slot(sup, "trans")["state"] == "finished" and _slot(sup, "temp")["state"] == "finished",
        timeout=15,
        what="finished states",
    )
    time.sleep(1.0)
    assert len(sup.starts("temp.0")) == 1
    assert len(sup.starts("trans.0")) == 1
    assert len(sup.starts("tempcrash.0")) == 1  # temporary: not even after a crash
    assert _slot(sup, "trans")["last_exit"]["reason"] == "exit code 0"
    assert sup.process.poll() is None  # keeper still supervised


def test_crash_loop_backs_off_then_the_pool_alone_fails(supervisors):
    sup = supervisors.start(
        [supervisors.pool("healthy"), supervisors.pool("crasher", args=("--exit-after", "0", "--code", "1"))],
        backoff_base=0.2,
        backoff_cap=10.0,
        max_restarts=4,
        restart_window=60.0,
    )
    healthy = sup.wait_starts("healthy.0", 1, timeout=10)[0]
    wait_until(lambda: _events(sup, "pool_failed"), timeout=20, what="the crasher pool to give up")
    delays = [e["delay"] for e in _events(sup, "process_restart_scheduled")]
    print("backoff delays:", delays)
    assert len(delays) == 4 and all(later > earlier for earlier, later in zip(delays, delays[1:], strict=False))
    assert 0.15 <= delays[0] <= 0.25 and 1.2 <= delays[3] <= 2.0
    starts = sup.starts("crasher.0")
    gaps = [b["at"] - a["at"] for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 5 and all(gap >= delay for gap, delay in zip(gaps, delays, strict=False))
    failed = _events(sup, "pool_failed")
    assert [e["pool"] for e in failed] == ["crasher"] and failed[0]["level"] == "ERROR"
    # The healthy pool keeps running untouched; the supervisor goes on.
    time.sleep(1.0)
    assert sup.process.poll() is None
    assert sup.starts("healthy.0") == [healthy] and pid_alive(healthy["pid"])
    assert len(sup.starts("crasher.0")) == 5  # no restart after the budget
    wait_until(lambda: _slot(sup, "crasher")["state"] == "failed", timeout=15, what="status shows the failed slot")
    pools = {p["name"]: p for p in sup.status()["pools"]}
    assert pools["crasher"]["state"] == "failed" and "restart intensity exceeded" in pools["crasher"]["failed_reason"]
    assert pools["healthy"]["state"] == "running" and sup.status()["supervisor"]["failed_pools"] == ["crasher"]
    sup.process.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_hung_child_is_killed_and_restarted(supervisors):
    sup = supervisors.start(
        [
            supervisors.pool("hanger", heartbeat_timeout=1.0, args=("--beat", "0.1", "--hang-after", "0.5")),
            supervisors.pool("fine", heartbeat_timeout=1.0),
        ]
    )
    first = sup.wait_starts("hanger.0", 1, timeout=10)[0]
    second = sup.wait_starts("hanger.0", 2, timeout=10)[1]
    print(f"hung child replaced {second['at'] - first['at']:.2f} s after its start")
    assert not pid_alive(first["pid"])
    hung = _events(sup, "process_hung")
    assert hung and hung[0]["child_pid"] == first["pid"]
    wait_until(
        lambda: _slot(sup, "hanger")["last_exit"] and _slot(sup, "hanger")["last_exit"]["reason"] == "hung",
        timeout=15,
        what="exit reason hung",
    )
    assert len(sup.starts("fine.0")) == 1  # beating children are left alone


def test_sigterm_twice_stops_everything_in_reverse_order(supervisors):
    pools = [supervisors.pool(name, processes=2, args=("--term-delay", "0.7")) for name in ("first", "second")]
    sup = supervisors.start(pools, shutdown_deadline=8.0)
    for label in ("first.0", "first.1", "second.0", "second.1"):
        sup.wait_starts(label, 1, timeout=10)
    pids = sup.all_child_pids()
    began = time.monotonic()
    sup.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    sup.process.send_signal(signal.SIGTERM)  # Heroku may send it again: must not break the sequence
    assert sup.wait_exit() == 0
    took = time.monotonic() - began
    print(f"orderly shutdown took {took:.2f} s")
    assert took < 8.0
    assert not [pid for pid in pids if pid_alive(pid)]
    stopped = [e["pool"] for e in _events(sup, "process_stopped")]
    assert stopped.index("second") < stopped.index("first")  # reverse start order
    assert _events(sup, "signal_ignored")
    assert sup.status()["supervisor"]["state"] == "stopped"
    assert all(s["state"] == "stopped" for p in sup.status()["pools"] for s in p["slots"])


def test_child_ignoring_sigterm_is_killed_at_the_deadline(supervisors):
    sup = supervisors.start(
        [supervisors.pool("polite"), supervisors.pool("stubborn", stop_grace=30.0, args=("--ignore-term",))],
        shutdown_deadline=2.0,
    )
    stubborn = sup.wait_starts("stubborn.0", 1, timeout=10)[0]
    polite = sup.wait_starts("polite.0", 1, timeout=10)[0]
    began = time.monotonic()
    sup.process.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    took = time.monotonic() - began
    print(f"shutdown with a SIGTERM-ignoring child took {took:.2f} s (deadline 2 s)")
    assert 1.8 <= took < 4.0
    assert not pid_alive(stubborn["pid"]) and not pid_alive(polite["pid"])
    assert [e for e in _events(sup, "process_killed") if e["pool"] == "stubborn"]


def test_sigkilled_supervisor_leaves_no_orphans(supervisors):
    sup = supervisors.start([supervisors.pool("one", processes=2), supervisors.pool("two", args=("--beat", "0"))])
    for label in ("one.0", "one.1", "two.0"):
        sup.wait_starts(label, 1, timeout=10)
    pids = sup.all_child_pids()
    assert all(pid_alive(pid) for pid in pids)
    sup.process.kill()
    sup.process.wait(timeout=15)
    began = time.monotonic()
    wait_until(lambda: not [pid for pid in pids if pid_alive(pid)], timeout=15, what="children to exit")
    print(f"children gone {time.monotonic() - began:.2f} s after the supervisor was SIGKILLed")
