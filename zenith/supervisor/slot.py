"""One supervised process position: pool + index, and what happened to it so far.

A slot outlives the OS processes it runs: when its process dies, the next one started
in its place inherits its restart count and backoff.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenith.supervisor.restarts import Backoff
from zenith.supervisor.specs import PoolSpec

# Slot states, as shown by `zenith status`.
STARTING = "starting"
RUNNING = "running"
BACKOFF = "backoff"  # waiting to be restarted
FINISHED = "finished"  # exited and not restarted (temporary/transient)
STOPPED = "stopped"  # stopped by the supervisor's shutdown
FAILED = "failed"  # stopped because its pool exhausted its restart budget


@dataclass
class ProcessSlot:
    pool: PoolSpec
    index: int
    heartbeat_path: Path
    backoff: Backoff
    process: asyncio.subprocess.Process | None = None
    state: str = STARTING
    started_wall: float | None = None
    started_mono: float | None = None
    restarts: int = 0
    hung: bool = False
    last_exit_reason: str | None = None
    last_exit_code: int | None = None
    last_exit_at: float | None = None
    next_start_at: float | None = None

    @property
    def label(self) -> str:
        return f"{self.pool.name}.{self.index}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_live(self) -> bool:
        """A process was started and has not been reaped yet."""
        return self.process is not None and self.process.returncode is None

    def uptime(self, now_mono: float | None = None) -> float | None:
        if self.state != RUNNING or self.started_mono is None:
            return None
        return (now_mono or time.monotonic()) - self.started_mono

    def snapshot(self) -> dict[str, Any]:
        uptime = self.uptime()
        return {
            "index": self.index,
            "pid": self.pid if self.is_live() else None,
            "state": self.state,
            "started_at": self.started_wall,
            "uptime": round(uptime, 3) if uptime is not None else None,
            "restarts": self.restarts,
            "last_exit": None
            if self.last_exit_reason is None
            else {"reason": self.last_exit_reason, "code": self.last_exit_code, "at": self.last_exit_at},
            "backoff": {
                "failures": self.backoff.failures,
                "delay": round(self.backoff.current, 3),
                "next_start_at": self.next_start_at if self.state == BACKOFF else None,
            },
        }
