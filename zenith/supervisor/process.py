"""Starting and signalling one supervised OS process.

Each process gets its own session (and so its own process group): a terminal's Ctrl-C
reaches only the supervisor, which then stops the children in order, and a signal to
the group also reaches whatever the child forked (Dramatiq's worker processes).

On Linux the child also asks the kernel for SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), so a SIGKILLed supervisor leaves no orphans. The kernel
sends that signal when the *thread* that forked the child exits; asyncio spawns from
the event-loop thread, which lives as long as the supervisor.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from typing import Callable, Mapping, Sequence

PR_SET_PDEATHSIG = 1
# Loaded before any fork: dlopen in the forked child could deadlock on a lock some other
# thread held at fork time.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _parent_death_signal(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn that arranges SIGTERM on parent death (Linux only)."""

    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


async def spawn(argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None = None) -> asyncio.subprocess.Process:
    """Start `argv` in a new session with the parent-death signal set.

    stdin is /dev/null; stdout and stderr are the supervisor's own (the platform's log
    stream), so a child can never block on a full pipe.
    """
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_parent_death_signal(os.getpid()),
    )


def signal_group(pid: int | None, sig: int) -> bool:
    """Send `sig` to the process group led by `pid`; False if the group is gone (or never started: None)."""
    if pid is None:
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def describe_exit(returncode: int) -> str:
    """'exit code 3' or 'killed by SIGKILL' for a Popen-style return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"
