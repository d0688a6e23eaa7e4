"""`zenith worker` that dies (SIGKILL) inside a batch's transaction, after its ledger transfers.

Run as ``python -m tests.actors.batch_dying_worker MARKER WORKER_ARGS...``. The first batch
store of the process family (while the file MARKER does not exist) makes its transfers,
creates MARKER and kills the process before the transaction commits: the money movements
were sent to PostgreSQL, nothing is committed. Later batches (MARKER exists) store normally.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from zenith.storage import ledger

_transfer_many = ledger.transfer_many


async def _transfer_then_die(conn, requests):
    made = await _transfer_many(conn, requests)
    marker = Path(sys.argv[1])
    if made and not marker.exists():
        marker.write_text(f"{len(made)}\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return made


if __name__ == "__main__":
    ledger.transfer_many = _transfer_then_die  # type: ignore[assignment]
    from zenith.cli import main

    raise SystemExit(main(["worker", *sys.argv[2:]]))
