"""One pool's processes under their own restart budget (an OTP child supervisor).

Each process is watched by its own task. When one exits, its pool's restart type decides
whether it comes back; if so it is restarted after its own backoff delay while every
other process keeps running (one_for_one). Restarts are counted against the pool's own
intensity (MaxR restarts within MaxT seconds): a pool that exceeds it stops all its
processes, becomes `failed` and escalates to the root supervisor, which decides what
happens to the rest (see zenith.supervisor.supervisor).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any, Callable, Mapping

from zenith.supervisor import process as proc
from zenith.supervisor.restarts import Backoff, RestartIntensity, RestartIntensityExceeded
from zenith.supervisor.slot import BACKOFF, FAILED, FINISHED, RUNNING, STARTING, STOPPED, ProcessSlot
from zenith.supervisor.specs import PoolSpec, SupervisorPolicy

logger = logging.getLogger("zenith.supervisor")

HUNG = "hung"

# Pool states, as shown by `zenith status` (the words of the slot states).
POOL_RUNNING = RUNNING
POOL_FAILED = FAILED  # exhausted its restart budget; its processes were stopped
POOL_FINISHED = FINISHED  # every process exited and none is restarted
POOL_STOPPED = STOPPED  # stopped by the supervisor's shutdown


def log_event(level: int, event: str, message: str, **fields: Any) -> None:
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    logger.log(level, f"{message} {details}".strip(), extra={"event": event, **fields})


class PoolSupervisor:
    """Starts, watches and restarts the processes of one pool.

    Parameters:
      pool(PoolSpec): The pool.
      policy(SupervisorPolicy): Backoff, and the pool's restart intensity
        (`max_restarts` within `restart_window` seconds).
      slots(list[ProcessSlot]): The pool's process slots.
      child_env(Callable[[ProcessSlot], Mapping[str, str]]): Environment of a slot's process.
      cwd(str | None): Working directory of the processes.
      on_change(Callable[[], None]): Called whenever the status changed.
      on_done(Callable[[PoolSupervisor], None]): Called once when the pool failed or
        finished (the root decides what that means for the others).
    """

    def __init__(
        self,
        pool: PoolSpec,
        *,
        policy: SupervisorPolicy,
        slots: list[ProcessSlot],
        child_env: Callable[[ProcessSlot], Mapping[str, str]],
        cwd: str | None,
        on_change: Callable[[], None],
        on_done: Callable[["PoolSupervisor"], None],
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.slots = slots
        self.child_env = child_env
        self.cwd = cwd
        self.on_change = on_change
        self.on_done = on_done
        self.intensity = RestartIntensity(max_restarts=policy.max_restarts, window=policy.restart_window)
        self.state = POOL_RUNNING
        self.failed_reason: str | None = None
        self.failed_at: float | None = None
        self.watchers: list[asyncio.Task] = []
        self._halted = asyncio.Event()
        self._failing: asyncio.Task | None = None

    @property
    def name(self) -> str:
        return self.pool.name

    @property
    def halted(self) -> bool:
        return self._halted.is_set()

    # ----------------------------------------------------------------- running

    async def start(self) -> None:
        """Start every process of the pool and a watcher task for each."""
        for slot in self.slots:
            if self.halted:
                return
            await self._start(slot)
            self.watchers.append(asyncio.create_task(self._watch(slot), name=f"watch-{slot.label}"))

    def halt(self) -> None:
        """The supervisor is shutting down: no more restarts (pending ones are cancelled)."""
        if self.state == POOL_RUNNING:
            self.state = POOL_STOPPED
        self._halted.set()

    async def _start(self, slot: ProcessSlot) -> None:
        try:
            slot.heartbeat_path.unlink()  # hang detection re-arms on the new process's first beat
        except FileNotFoundError:
            pass
        slot.hung = False
        slot.next_start_at = None
        slot.started_wall, slot.started_mono = time.time(), time.monotonic()
        try:
            slot.process = await proc.spawn(self.pool.argv, env=dict(self.child_env(slot)), cwd=self.cwd)
        except OSError as exc:
            slot.process = None
            slot.state = STARTING
            slot.last_exit_reason = f"spawn failed: {exc}"
            log_event(
                logging.WARNING,
                "process_spawn_failed",
                "process could not start",
                pool=self.name,
                index=slot.index,
                reason=exc,
            )
            return
        slot.state = RUNNING
        self.on_change()
        log_event(
            logging.INFO,
            "process_started",
            "process started",
            pool=self.name,
            index=slot.index,
            child_pid=slot.pid,
            restarts=slot.restarts,
        )
        if self.halted:
            # Spawned while the pool was being stopped: the stop may have passed it.
            proc.signal_group(slot.pid, signal.SIGTERM)

    async def _watch(self, slot: ProcessSlot) -> None:
        """Wait for the slot's process to exit and restart it as the pool says."""
        while True:
            returncode = await slot.process.wait() if slot.process is not None else None
            now_mono = time.monotonic()
            if slot.process is not None and returncode is not None:  # returncode is set once it exited
                proc.signal_group(slot.process.pid, signal.SIGKILL)  # whatever it forked and left
                slot.last_exit_code = returncode
                slot.last_exit_reason = HUNG if slot.hung else proc.describe_exit(returncode)
            slot.last_exit_at = time.time()
            uptime = now_mono - (slot.started_mono or now_mono)
            if self.halted:
                slot.state = FAILED if self.state == POOL_FAILED else STOPPED
                self.on_change()
                log_event(
                    logging.INFO,
                    "process_stopped",
                    "process stopped",
                    pool=self.name,
                    index=slot.index,
                    child_pid=slot.pid,
                    reason=slot.last_exit_reason,
                )
                return
            abnormal = slot.hung or returncode != 0
            log_event(
                logging.WARNING if abnormal else logging.INFO,
                "process_exited",
                "process exited",
                pool=self.name,
                index=slot.index,
                child_pid=slot.pid,
                reason=slot.last_exit_reason,
                uptime=round(uptime, 3),
            )
            if not self.pool.restart.should_restart(abnormal=abnormal):
                slot.state = FINISHED
                self.on_change()
                if all(s.state == FINISHED for s in self.slots):
                    self.state = POOL_FINISHED
                    self.on_done(self)
                return
            if uptime >= self.policy.healthy_after:
                slot.backoff.reset()  # it was healthy: a passing crash restarts fast
            try:
                self.intensity.record(now_mono)
            except RestartIntensityExceeded as exc:
                slot.state = FAILED
                self._fail(str(exc))
                return
            delay = slot.backoff.next_delay()
            slot.state = BACKOFF
            slot.next_start_at = time.time() + delay
            self.on_change()
            log_event(
                logging.INFO,
                "process_restart_scheduled",
                "restart scheduled",
                pool=self.name,
                index=slot.index,
                delay=round(delay, 3),
            )
            if await self._halted_within(delay):
                slot.state = FAILED if self.state == POOL_FAILED else STOPPED
                self.on_change()
                return
            slot.restarts += 1
            await self._start(slot)

    async def _halted_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._halted.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    def _fail(self, reason: str) -> None:
        """The pool exhausted its restart budget: stop its processes and escalate."""
        self.state = POOL_FAILED
        self.failed_reason = f"restart intensity exceeded: {reason}"
        self.failed_at = time.time()
        self._halted.set()
        log_event(
            logging.ERROR,
            "pool_failed",
            "pool gave up restarting; its processes are stopped",
            pool=self.name,
            reason=self.failed_reason,
        )
        self.on_change()
        self._failing = asyncio.create_task(
            self.stop(deadline=time.monotonic() + self.pool.stop_grace), name=f"fail-{self.name}"
        )
        self.on_done(self)

    # ------------------------------------------------------------------ health

    def reset_healthy_backoffs(self, now_mono: float) -> None:
        """A process up for `healthy_after` seconds restarts fast again if it dies.

        Done while it runs (not only when it dies), so the status shows the pool as
        recovered and the backoff of a pool that has been healthy for a while is reset.
        """
        for slot in self.slots:
            uptime = slot.uptime(now_mono)
            if slot.backoff.failures and uptime is not None and uptime >= self.policy.healthy_after:
                slot.backoff.reset()
                self.on_change()
                log_event(
                    logging.INFO,
                    "process_healthy",
                    "process healthy again; backoff reset",
                    pool=self.name,
                    index=slot.index,
                    child_pid=slot.pid,
                    uptime=round(uptime, 3),
                )

    # ------------------------------------------------------------ hang detection

    def kill_hung(self, now: float) -> None:
        """SIGKILL every running process whose heartbeat is older than the pool's timeout."""
        timeout = self.pool.heartbeat_timeout
        if timeout <= 0 or self.halted:
            return
        for slot in self.slots:
            if slot.state != RUNNING or slot.hung or not slot.is_live():
                continue
            try:
                last_beat = slot.heartbeat_path.stat().st_mtime
            except FileNotFoundError:
                continue  # not armed: the process has not beaten yet
            if now - last_beat > timeout:
                slot.hung = True
                log_event(
                    logging.WARNING,
                    "process_hung",
                    "no heartbeat; killing",
                    pool=self.name,
                    index=slot.index,
                    child_pid=slot.pid,
                    silent=round(now - last_beat, 3),
                )
                proc.signal_group(slot.pid, signal.SIGKILL)

    # ------------------------------------------------------------------ stopping

    async def stop(self, *, deadline: float) -> None:
        """SIGTERM to the pool's processes, SIGKILL to those alive after its stop grace."""
        self._halted.set()
        live = [slot for slot in self.slots if slot.is_live()]
        if not live:
            return
        for slot in live:
            proc.signal_group(slot.pid, signal.SIGTERM)
        budget = min(self.pool.stop_grace, max(0.0, deadline - time.monotonic()))
        if not await _all_exited(live, timeout=budget):
            for slot in live:
                if slot.is_live():
                    self._kill(slot, "stop grace over; SIGKILL")

    def kill_all(self) -> None:
        for slot in self.slots:
            if slot.is_live():
                self._kill(slot, "shutdown deadline; SIGKILL")

    def _kill(self, slot: ProcessSlot, why: str) -> None:
        log_event(logging.WARNING, "process_killed", why, pool=self.name, index=slot.index, child_pid=slot.pid)
        proc.signal_group(slot.pid, signal.SIGKILL)

    async def finish_failing(self) -> None:
        """Wait for the stop of a failed pool to end (at shutdown)."""
        if self._failing is not None:
            await asyncio.gather(self._failing, return_exceptions=True)

    # -------------------------------------------------------------------- status

    def snapshot(self, now_mono: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "argv": list(self.pool.argv),
            "restart": self.pool.restart.value,
            "processes": self.pool.processes,
            "threads": self.pool.threads,
            "queues": list(self.pool.queues),
            "heartbeat_timeout": self.pool.heartbeat_timeout,
            "state": self.state,
            "critical": self.name in self.policy.critical_pools,
            "failed_reason": self.failed_reason,
            "failed_at": self.failed_at,
            "restarts": sum(s.restarts for s in self.slots),
            "recent_restarts": self.intensity.recent(now_mono),
            "max_restarts": self.policy.max_restarts,
            "restart_window": self.policy.restart_window,
            "slots": [s.snapshot() for s in self.slots],
        }


async def _all_exited(slots: list[ProcessSlot], *, timeout: float) -> bool:
    waits = [asyncio.ensure_future(slot.process.wait()) for slot in slots if slot.process is not None]
    if not waits:
        return True
    _, pending = await asyncio.wait(waits, timeout=timeout)
    for task in pending:
        task.cancel()
    return not pending


def new_slots(pool: PoolSpec, *, policy: SupervisorPolicy, runtime_dir) -> list[ProcessSlot]:
    """The process slots of `pool`, each with its own backoff."""
    return [
        ProcessSlot(
            pool=pool,
            index=index,
            heartbeat_path=runtime_dir / f"{pool.name}.{index}.heartbeat",
            backoff=Backoff(base=policy.backoff_base, cap=policy.backoff_cap, jitter=policy.jitter),
        )
        for index in range(pool.processes)
    ]
