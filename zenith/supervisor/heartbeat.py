"""The heartbeat a supervised process sends: it touches a file the supervisor watches.

The supervisor gives each process it starts the environment variables
``ZENITH_HEARTBEAT_FILE`` (the file to touch) and ``ZENITH_SUPERVISOR_PID``. A process
calls `start_heartbeat()` once at start-up; outside a supervisor (no such variable)
the call does nothing, so it is safe everywhere.

Hang detection is armed by the first touch: a process that never calls
`start_heartbeat` is never killed as hung; one that did and then stops touching the
file for longer than its pool's heartbeat timeout is SIGKILLed and restarted.

The same thread is the second line of defence against orphans: when the parent process
is gone (``os.getppid()`` changed), it sends SIGTERM to its own process and, if that
does not end it within `orphan_grace` seconds, exits hard.

This module imports nothing of the project, so it costs nothing at start-up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

HEARTBEAT_FILE_ENV = "ZENITH_HEARTBEAT_FILE"
SUPERVISOR_PID_ENV = "ZENITH_SUPERVISOR_PID"
ORPHAN_EXIT_CODE = 70


def touch(path: Path) -> None:
    """Set the file's modification time to now, creating it if needed."""
    try:
        os.utime(path)
    except FileNotFoundError:
        path.touch()


class Heartbeat:
    """A daemon thread that touches the heartbeat file every `interval` seconds.

    Parameters:
      path(Path): The heartbeat file.
      interval(float): Seconds between touches.  Default: 5.
      alive(Callable[[], bool] | None): Checked before each touch; a False answer skips
        the touch, so a process can report a stuck event loop or consumer as a hang.
      orphan_grace(float): Seconds between SIGTERM to itself and a hard exit once the
        parent is gone.  Default: 10.
    """

    def __init__(
        self, *, path: Path, interval: float = 5.0, alive: Callable[[], bool] | None = None, orphan_grace: float = 10.0
    ) -> None:
        self.path = path
        self.interval = interval
        self.alive = alive
        self.orphan_grace = orphan_grace
        self.parent_pid = os.getppid()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zenith-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop touching the file (the supervisor will see the process as hung)."""
        self._stopped.set()

    def _beat(self) -> None:
        if self.alive is not None and not self.alive():
            return
        try:
            touch(self.path)
        except OSError:
            pass  # the runtime folder is gone: the supervisor is shutting down

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if os.getppid() != self.parent_pid:
                self._leave_as_orphan()
                return
            self._beat()

    def _leave_as_orphan(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(self.orphan_grace)
        os._exit(ORPHAN_EXIT_CODE)


def start_heartbeat(
    interval: float = 5.0, *, alive: Callable[[], bool] | None = None, orphan_grace: float = 10.0
) -> Heartbeat | None:
    """Start the heartbeat thread if this process runs under the supervisor.

    Parameters:
      interval(float): Seconds between touches; keep it well under the pool's
        heartbeat timeout (60 s by default).  Default: 5.
      alive(Callable[[], bool] | None): Optional liveness check, see `Heartbeat`.
      orphan_grace(float): See `Heartbeat`.  Default: 10.

    Returns:
      The running `Heartbeat`, or None when ZENITH_HEARTBEAT_FILE is not set.
    """
    path = os.environ.get(HEARTBEAT_FILE_ENV)
    if not path:
        return None
    return Heartbeat(path=Path(path), interval=interval, alive=alive, orphan_grace=orphan_grace).start()


def loop_liveness(loop: asyncio.AbstractEventLoop, *, max_lag: float = 10.0) -> Callable[[], bool]:
    """A liveness check for `start_heartbeat(alive=...)` that fails while `loop` is blocked.

    The loop stamps the time every second; the check fails when the stamp is older
    than `max_lag` seconds, so a process whose event loop is stuck stops beating.
    """
    stamp = [time.monotonic()]

    def tick() -> None:
        stamp[0] = time.monotonic()
        loop.call_later(1.0, tick)

    loop.call_soon_threadsafe(tick)
    return lambda: time.monotonic() - stamp[0] < max_lag
