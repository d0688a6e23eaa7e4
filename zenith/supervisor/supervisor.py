"""The asyncio supervisor: keeps every pool's processes running (one_for_one).

Each process is watched by its own task. When one exits, its restart type decides
whether it comes back; if so, it is restarted after its backoff delay while every other
process keeps running. Too many restarts in the window (restart intensity) stop the
whole supervisor with exit code 1, so the platform restarts the dyno.

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

from zenith.supervisor import process as proc
from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, SUPERVISOR_PID_ENV
from zenith.supervisor.publish import StatusPublisher
from zenith.supervisor.restarts import Backoff, RestartIntensity, RestartIntensityExceeded
from zenith.supervisor.slot import BACKOFF, FINISHED, RUNNING, STARTING, STOPPED, ProcessSlot
from zenith.supervisor.specs import PoolSpec, SupervisorPolicy

logger = logging.getLogger("zenith.supervisor")

EXIT_OK = 0
EXIT_INTENSITY = 1
HUNG = "hung"


def _log(level: int, event: str, message: str, **fields: Any) -> None:
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    logger.log(level, f"{message} {details}".strip(), extra={"event": event, **fields})


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
    """Starts, watches, restarts and stops the processes of `pools`.

    Parameters:
      pools(Sequence[PoolSpec]): Pools, in start order.
      policy(SupervisorPolicy): Restart intensity, backoff, shutdown deadline.
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
        self.intensity = RestartIntensity(max_restarts=policy.max_restarts, window=policy.restart_window)
        self.slots = [
            ProcessSlot(
                pool=pool,
                index=index,
                heartbeat_path=self.runtime_dir / f"{pool.name}.{index}.heartbeat",
                backoff=Backoff(base=policy.backoff_base, cap=policy.backoff_cap, jitter=policy.jitter),
            )
            for pool in self.pools
            for index in range(pool.processes)
        ]
        self.state = "starting"
        self.exit_code = EXIT_OK
        self.stop_reason: str | None = None
        self.started_at = time.time()
        self._stop_requested = asyncio.Event()
        self._status_changed = asyncio.Event()
        self._watchers: list[asyncio.Task] = []

    # ----------------------------------------------------------------- running

    async def run(self) -> int:
        """Run until a signal, exceeded restart intensity or no process left; the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        status_task = asyncio.create_task(self._publish_status_loop(), name="supervisor-status")
        hang_task = asyncio.create_task(self._detect_hangs(), name="supervisor-hangs")
        try:
            _log(logging.INFO, "supervisor_started", "supervisor started", supervisor_pid=os.getpid(), pools=",".join(p.name for p in self.pools))
            for slot in self.slots:
                if self._stop_requested.is_set():
                    break
                await self._start(slot)
                self._watchers.append(asyncio.create_task(self._watch(slot), name=f"watch-{slot.label}"))
            self.state = "running"
            self._status_changed.set()
            await self._stop_requested.wait()
            self.state = "stopping"
            self._status_changed.set()
            await self._shutdown()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            hang_task.cancel()
            status_task.cancel()
            await asyncio.gather(hang_task, status_task, return_exceptions=True)
            self.state = "failed" if self.exit_code else "stopped"
            await self._publish_status()
            if self.publisher is not None:
                await self.publisher.close()
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        _log(logging.INFO, "supervisor_exited", "supervisor exited", code=self.exit_code, reason=self.stop_reason)
        return self.exit_code

    def request_stop(self, reason: str, *, exit_code: int = EXIT_OK) -> None:
        """Begin the orderly shutdown; later requests keep the first reason and code."""
        if self._stop_requested.is_set():
            return
        self.stop_reason = reason
        self.exit_code = exit_code
        self._stop_requested.set()

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._stop_requested.is_set():
            _log(logging.INFO, "signal_ignored", "already stopping", signal=name)
            return
        _log(logging.INFO, "signal_received", "stopping all pools", signal=name)
        self.request_stop(name)

    async def _start(self, slot: ProcessSlot) -> None:
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
        try:
            slot.heartbeat_path.unlink()  # hang detection re-arms on the new process's first beat
        except FileNotFoundError:
            pass
        slot.hung = False
        slot.next_start_at = None
        slot.started_wall, slot.started_mono = time.time(), time.monotonic()
        try:
            slot.process = await proc.spawn(slot.pool.argv, env=env, cwd=self.cwd)
        except OSError as exc:
            slot.process = None
            slot.state = STARTING
            slot.last_exit_reason = f"spawn failed: {exc}"
            _log(logging.ERROR, "process_spawn_failed", "process could not start", pool=slot.pool.name, index=slot.index, reason=exc)
            return
        slot.state = RUNNING
        self._status_changed.set()
        _log(logging.INFO, "process_started", "process started", pool=slot.pool.name, index=slot.index, child_pid=slot.pid, restarts=slot.restarts)
        if self._stop_requested.is_set():
            # Spawned while the shutdown began: the shutdown may have passed this pool.
            proc.signal_group(slot.pid, signal.SIGTERM)

    async def _watch(self, slot: ProcessSlot) -> None:
        """Wait for the slot's process to exit and restart it as its pool says."""
        while True:
            returncode = await slot.process.wait() if slot.process is not None else None
            now_mono = time.monotonic()
            if slot.process is not None:
                proc.signal_group(slot.process.pid, signal.SIGKILL)  # whatever it forked and left
                slot.last_exit_code = returncode
                slot.last_exit_reason = HUNG if slot.hung else proc.describe_exit(returncode)
            slot.last_exit_at = time.time()
            uptime = now_mono - (slot.started_mono or now_mono)
            if self._stop_requested.is_set():
                slot.state = STOPPED
                self._status_changed.set()
                _log(logging.INFO, "process_stopped", "process stopped", pool=slot.pool.name, index=slot.index, child_pid=slot.pid, reason=slot.last_exit_reason)
                return
            abnormal = slot.hung or returncode != 0
            _log(
                logging.WARNING if abnormal else logging.INFO,
                "process_exited",
                "process exited",
                pool=slot.pool.name,
                index=slot.index,
                child_pid=slot.pid,
                reason=slot.last_exit_reason,
                uptime=round(uptime, 3),
            )
            if not slot.pool.restart.should_restart(abnormal=abnormal):
                slot.state = FINISHED
                self._status_changed.set()
                self._stop_if_nothing_left()
                return
            if uptime >= self.policy.healthy_after:
                slot.backoff.reset()
            try:
                self.intensity.record(now_mono)
            except RestartIntensityExceeded as exc:
                _log(logging.ERROR, "restart_intensity_exceeded", "giving up: restart intensity exceeded", pool=slot.pool.name, reason=exc)
                slot.state = STOPPED
                self.request_stop(f"restart intensity exceeded: {exc}", exit_code=EXIT_INTENSITY)
                return
            delay = slot.backoff.next_delay()
            slot.state = BACKOFF
            slot.next_start_at = time.time() + delay
            self._status_changed.set()
            _log(logging.INFO, "process_restart_scheduled", "restart scheduled", pool=slot.pool.name, index=slot.index, delay=round(delay, 3))
            if await self._stopped_within(delay):
                slot.state = STOPPED
                self._status_changed.set()
                return
            slot.restarts += 1
            await self._start(slot)

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop_requested.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    def _stop_if_nothing_left(self) -> None:
        if all(slot.state == FINISHED for slot in self.slots):
            _log(logging.INFO, "all_finished", "every process finished; nothing left to supervise")
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
            for slot in self.slots:
                timeout = slot.pool.heartbeat_timeout
                if timeout <= 0 or slot.state != RUNNING or slot.hung or not slot.is_live():
                    continue
                try:
                    last_beat = slot.heartbeat_path.stat().st_mtime
                except FileNotFoundError:
                    continue  # not armed: the process has not beaten yet
                if now - last_beat > timeout:
                    slot.hung = True
                    _log(logging.ERROR, "process_hung", "no heartbeat; killing", pool=slot.pool.name, index=slot.index, child_pid=slot.pid, silent=round(now - last_beat, 3))
                    proc.signal_group(slot.pid, signal.SIGKILL)

    # ------------------------------------------------------------------ shutdown

    async def _shutdown(self) -> None:
        deadline = time.monotonic() + self.policy.shutdown_deadline
        _log(logging.INFO, "shutdown_started", "stopping pools in reverse start order", reason=self.stop_reason, deadline=self.policy.shutdown_deadline)
        for stage in shutdown_stages(self.pools):
            await asyncio.gather(*(self._stop_pool(pool, deadline=deadline) for pool in stage))
        # Watchers end once their process is reaped (or their backoff wait is cut short).
        remaining = max(0.0, deadline - time.monotonic())
        done, pending = await asyncio.wait(self._watchers, timeout=remaining) if self._watchers else (set(), set())
        if pending:
            for slot in self.slots:
                if slot.is_live():
                    _log(logging.WARNING, "process_killed", "shutdown deadline; SIGKILL", pool=slot.pool.name, index=slot.index, child_pid=slot.pid)
                    proc.signal_group(slot.pid, signal.SIGKILL)
            await asyncio.wait(pending, timeout=5.0)
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)

    async def _stop_pool(self, pool: PoolSpec, *, deadline: float) -> None:
        """SIGTERM to the pool's processes, SIGKILL to those alive after its stop grace."""
        live = [slot for slot in self.slots if slot.pool is pool and slot.is_live()]
        if not live:
            return
        for slot in live:
            proc.signal_group(slot.pid, signal.SIGTERM)
        budget = min(pool.stop_grace, max(0.0, deadline - time.monotonic()))
        if not await self._all_exited(live, timeout=budget):
            for slot in live:
                if slot.is_live():
                    _log(logging.WARNING, "process_killed", "stop grace over; SIGKILL", pool=pool.name, index=slot.index, child_pid=slot.pid)
                    proc.signal_group(slot.pid, signal.SIGKILL)

    async def _all_exited(self, slots: list[ProcessSlot], *, timeout: float) -> bool:
        waits = [asyncio.ensure_future(slot.process.wait()) for slot in slots if slot.process is not None]
        if not waits:
            return True
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for task in pending:
            task.cancel()
        return not pending

    # -------------------------------------------------------------------- status

    def snapshot(self) -> dict[str, Any]:
        """Everything `zenith status` shows, as plain JSON-able data."""
        now = time.time()
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
                "recent_restarts": self.intensity.recent(time.monotonic()),
                "max_restarts": self.policy.max_restarts,
                "restart_window": self.policy.restart_window,
            },
            "pools": [
                {
                    "name": pool.name,
                    "argv": list(pool.argv),
                    "restart": pool.restart.value,
                    "processes": pool.processes,
                    "threads": pool.threads,
                    "queues": list(pool.queues),
                    "heartbeat_timeout": pool.heartbeat_timeout,
                    "restarts": sum(s.restarts for s in self.slots if s.pool is pool),
                    "slots": [s.snapshot() for s in self.slots if s.pool is pool],
                }
                for pool in self.pools
            ],
        }

    async def _publish_status(self) -> None:
        if self.publisher is None:
            return
        try:
            await self.publisher.publish(self.snapshot())
        except Exception:  # a status failure must never take supervision down
            logger.exception("status not published", extra={"event": "status_failed"})

    async def _publish_status_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._status_changed.wait(), timeout=self.policy.status_interval)
            except asyncio.TimeoutError:
                pass
            self._status_changed.clear()
            await self._publish_status()
            await asyncio.sleep(0.1)  # coalesce bursts of changes
