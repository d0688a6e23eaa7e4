"""The root supervisor: one child supervisor per pool, each with its own restart budget.

As in Erlang/OTP, the root does not restart processes itself: every pool has a
`PoolSupervisor` (zenith.supervisor.pool) that restarts its own processes (one_for_one,
with backoff) and counts those restarts against the pool's own intensity. A pool that
exhausts its budget stops its processes and escalates to the root. The root then:

* logs it at ERROR (`pool_failed`: an operator must act), keeps the pool stopped and
  reports it in the status (`zenith status` shows it `failed` and exits 2), while
  every other pool keeps running untouched;
* stops everything and exits 1 (so the platform restarts the dyno) only when the failed
  pool is critical (SUPERVISOR_CRITICAL_POOLS) or no pool is left running.

A process that stopped touching its heartbeat file for longer than its pool's heartbeat
timeout is SIGKILLed (its whole process group) and restarted with exit reason "hung".

On SIGTERM or SIGINT (any number of them) the pools are stopped in reverse start order
(adjacent worker pools together): SIGTERM to each process group, up to the pool's stop
grace, then SIGKILL; whatever is still running at the global shutdown deadline is
SIGKILLed. Then the exit code is 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, SUPERVISOR_PID_ENV
from zenith.supervisor.pool import POOL_FAILED, POOL_FINISHED, PoolSupervisor, log_event, new_slots
from zenith.supervisor.publish import StatusPublisher
from zenith.supervisor.slot import ProcessSlot
from zenith.supervisor.specs import PoolSpec, SupervisorPolicy

logger = logging.getLogger("zenith.supervisor")

EXIT_OK = 0
EXIT_ESCALATED = 1


def shutdown_stages(pools: Sequence[PoolSpec]) -> list[list[PoolSpec]]:
    """The pools in reverse start order, adjacent worker pools (those with queues) merged.

    Worker pools do not depend on one another, so they stop together: each finishes its
    in-flight messages at the same time instead of one pool after the other, which
    keeps a shutdown with busy workers inside Heroku's 30 s.
    """
    stages: list[list[PoolSpec]] = []
    for pool in reversed(pools):
        if pool.queues and stages and stages[-1][0].queues:
            stages[-1].append(pool)
        else:
            stages.append([pool])
    return stages


class Supervisor:
    """The root of the supervision tree over `pools`.

    Parameters:
      pools(Sequence[PoolSpec]): Pools, in start order.
      policy(SupervisorPolicy): Each pool's restart intensity, backoff, critical pools,
        shutdown deadline.
      runtime_dir(Path): Folder for heartbeat files; created, and removed at exit.
      publisher(StatusPublisher | None): Where status snapshots go.  Default: nowhere.
      base_env(Mapping[str, str] | None): Environment of the children.  Default: os.environ.
      cwd(str | None): Working directory of the children.  Default: the supervisor's.
    """

    def __init__(
        self,
        pools: Sequence[PoolSpec],
        *,
        policy: SupervisorPolicy,
        runtime_dir: Path,
        publisher: StatusPublisher | None = None,
        base_env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        names = [pool.name for pool in pools]
        if len(set(names)) != len(names):
            raise ValueError(f"pool names must be unique: {names}")
        self.pools = list(pools)
        self.policy = policy
        self.runtime_dir = Path(runtime_dir)
        self.publisher = publisher
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.cwd = cwd
        self.children = [
            PoolSupervisor(
                pool,
                policy=policy,
                slots=new_slots(pool, policy=policy, runtime_dir=self.runtime_dir),
                child_env=self._child_env,
                cwd=cwd,
                on_change=self._status_changed_now,
                on_done=self._on_pool_done,
            )
            for pool in self.pools
        ]
        self.state = "starting"
        self.exit_code = EXIT_OK
        self.stop_reason: str | None = None
        self.started_at = time.time()
        self._stop_requested = asyncio.Event()
        self._status_changed = asyncio.Event()

    @property
    def slots(self) -> list[ProcessSlot]:
        return [slot for child in self.children for slot in child.slots]

    def child(self, name: str) -> PoolSupervisor:
        return next(child for child in self.children if child.name == name)

    # ----------------------------------------------------------------- running

    async def run(self) -> int:
        """Run until a signal, an escalation the root cannot absorb, or no pool left; the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        status_task = asyncio.create_task(self._publish_status_loop(), name="supervisor-status")
        hang_task = asyncio.create_task(self._detect_hangs(), name="supervisor-hangs")
        health_task = asyncio.create_task(self._reset_healthy_backoffs(), name="supervisor-health")
        try:
            log_event(
                logging.INFO,
                "supervisor_started",
                "supervisor started",
                supervisor_pid=os.getpid(),
                pools=",".join(p.name for p in self.pools),
            )
            for child in self.children:
                if self._stop_requested.is_set():
                    break
                await child.start()
            self.state = "running"
            self._status_changed.set()
            await self._stop_requested.wait()
            self.state = "stopping"
            self._status_changed.set()
            await self._shutdown()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for task in (hang_task, health_task, status_task):
                task.cancel()
            await asyncio.gather(hang_task, health_task, status_task, return_exceptions=True)
            self.state = "failed" if self.exit_code else "stopped"
            await self._publish_status()
            if self.publisher is not None:
                await self.publisher.close()
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        log_event(logging.INFO, "supervisor_exited", "supervisor exited", code=self.exit_code, reason=self.stop_reason)
        return self.exit_code

    def request_stop(self, reason: str, *, exit_code: int = EXIT_OK) -> None:
        """Begin the orderly shutdown; later requests keep the first reason and code."""
        if self._stop_requested.is_set():
            return
        self.stop_reason = reason
        self.exit_code = exit_code
        self._stop_requested.set()
        for child in self.children:
            child.halt()

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._stop_requested.is_set():
            log_event(logging.INFO, "signal_ignored", "already stopping", signal=name)
            return
        log_event(logging.INFO, "signal_received", "stopping all pools", signal=name)
        self.request_stop(name)

    def _child_env(self, slot: ProcessSlot) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(slot.pool.env)
        env.update(
            {
                HEARTBEAT_FILE_ENV: str(slot.heartbeat_path),
                SUPERVISOR_PID_ENV: str(os.getpid()),
                "ZENITH_POOL": slot.pool.name,
                "ZENITH_PROCESS_INDEX": str(slot.index),
            }
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _status_changed_now(self) -> None:
        self._status_changed.set()

    def _on_pool_done(self, child: PoolSupervisor) -> None:
        """A pool failed (escalation) or finished: decide whether the others go on."""
        if self._stop_requested.is_set():
            return
        if child.state == POOL_FAILED and child.name in self.policy.critical_pools:
            log_event(
                logging.ERROR,
                "critical_pool_failed",
                "a critical pool cannot run; stopping everything",
                pool=child.name,
                reason=child.failed_reason,
            )
            self.request_stop(f"critical pool {child.name} failed: {child.failed_reason}", exit_code=EXIT_ESCALATED)
            return
        if any(other.state not in (POOL_FAILED, POOL_FINISHED) for other in self.children):
            return  # the others keep serving
        failed = [other.name for other in self.children if other.state == POOL_FAILED]
        if failed:
            log_event(logging.ERROR, "all_pools_down", "no pool left running; stopping", failed=",".join(failed))
            self.request_stop(f"no pool left running (failed: {', '.join(failed)})", exit_code=EXIT_ESCALATED)
        else:
            log_event(logging.INFO, "all_finished", "every process finished; nothing left to supervise")
            self.request_stop("all processes finished")

    # ------------------------------------------------------------ hang detection

    async def _detect_hangs(self) -> None:
        timeouts = [pool.heartbeat_timeout for pool in self.pools if pool.heartbeat_timeout > 0]
        if not timeouts:
            return
        period = min(5.0, max(0.1, min(timeouts) / 4))
        while not self._stop_requested.is_set():
            await asyncio.sleep(period)
            now = time.time()
            for child in self.children:
                child.kill_hung(now)

    async def _reset_healthy_backoffs(self) -> None:
        period = min(5.0, max(0.1, self.policy.healthy_after / 4))
        while not self._stop_requested.is_set():
            await asyncio.sleep(period)
            now_mono = time.monotonic()
            for child in self.children:
                child.reset_healthy_backoffs(now_mono)

    # ------------------------------------------------------------------ shutdown

    async def _shutdown(self) -> None:
        deadline = time.monotonic() + self.policy.shutdown_deadline
        log_event(
            logging.INFO,
            "shutdown_started",
            "stopping pools in reverse start order",
            reason=self.stop_reason,
            deadline=self.policy.shutdown_deadline,
        )
        by_name = {child.name: child for child in self.children}
        for stage in shutdown_stages(self.pools):
            await asyncio.gather(*(by_name[pool.name].stop(deadline=deadline) for pool in stage))
        # Watchers end once their process is reaped (or their backoff wait is cut short).
        watchers = [task for child in self.children for task in child.watchers]
        remaining = max(0.0, deadline - time.monotonic())
        done, pending = await asyncio.wait(watchers, timeout=remaining) if watchers else (set(), set())
        if pending:
            for child in self.children:
                child.kill_all()
            await asyncio.wait(pending, timeout=5.0)
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for child in self.children:
            await child.finish_failing()

    # -------------------------------------------------------------------- status

    def snapshot(self) -> dict[str, Any]:
        """Everything `zenith status` shows, as plain JSON-able data."""
        now = time.time()
        now_mono = time.monotonic()
        return {
            "published_at": now,
            "interval": self.policy.status_interval,
            "supervisor": {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "state": self.state,
                "started_at": self.started_at,
                "uptime": round(now - self.started_at, 3),
                "exit_code": self.exit_code if self.state in ("stopped", "failed") else None,
                "stop_reason": self.stop_reason,
                "max_restarts": self.policy.max_restarts,
                "restart_window": self.policy.restart_window,
                "critical_pools": list(self.policy.critical_pools),
                "failed_pools": [child.name for child in self.children if child.state == POOL_FAILED],
            },
            "pools": [child.snapshot(now_mono) for child in self.children],
        }

    async def _publish_status(self) -> None:
        if self.publisher is None:
            return
        try:
            await self.publisher.publish(self.snapshot())
        except Exception as exc:  # a status failure must never take supervision down
            logger.warning("status not published: %r", exc, extra={"event": "status_failed"})

    async def _publish_status_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._status_changed.wait(), timeout=self.policy.status_interval)
            except asyncio.TimeoutError:
                pass
            self._status_changed.clear()
            await self._publish_status()
            await asyncio.sleep(0.1)  # coalesce bursts of changes
