"""`zenith worker` that dies (SIGKILL) right after a transaction staged notices and committed.

Run as ``python -m tests.actors.dying_worker WORKER_ARGS...`` (the arguments of
``zenith worker``). Every `notice_outbox.publish` call kills the process before it
enqueues anything: the state change and its outbox rows are committed, the notify
message never leaves. Patched before the actor modules are imported, so they bind the
dying version.
"""

from __future__ import annotations

import os
import signal
import sys

from zenith.actors import notice_outbox


async def _die_before_publishing(runtime, entries) -> int:
    if any(entry is not None for entry in entries):
        os.kill(os.getpid(), signal.SIGKILL)
    return 0


if __name__ == "__main__":
    notice_outbox.publish = _die_before_publishing
    from zenith.cli import main

    raise SystemExit(main(["worker", *sys.argv[1:]]))
