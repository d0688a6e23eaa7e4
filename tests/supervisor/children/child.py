"""A stand-in for a pool's process in the supervisor tests.

Records each start as a JSON line in MARKER_DIR/<pool>.<index>.jsonl (pid, time), beats
the heartbeat, and exits, hangs or lingers on SIGTERM as the flags say.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from zenith.supervisor.heartbeat import start_heartbeat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--marker-dir", required=True)
    parser.add_argument("--beat", type=float, default=0.2, help="heartbeat interval; 0: no heartbeat")
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--hang-after", type=float, default=None, help="stop beating after this many seconds")
    parser.add_argument("--term-delay", type=float, default=0.0, help="seconds to linger after SIGTERM")
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument(
        "--crashes-file", default=None, help="counts starts; with --crashes, only the first N starts exit"
    )
    parser.add_argument("--crashes", type=int, default=None)
    args = parser.parse_args()
    if args.crashes_file is not None and args.crashes is not None:
        counter = Path(args.crashes_file)
        started_before = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(started_before + 1))
        if started_before >= args.crashes:
            args.exit_after = None  # crashed enough: stay up from now on

    name = f"{os.environ['ZENITH_POOL']}.{os.environ['ZENITH_PROCESS_INDEX']}"
    with open(Path(args.marker_dir) / f"{name}.jsonl", "a", encoding="utf-8") as out:
        out.write(
            json.dumps({"pid": os.getpid(), "at": time.time(), "supervisor": os.environ.get("ZENITH_SUPERVISOR_PID")})
            + "\n"
        )

    stopping = []
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(time.monotonic()))

    heartbeat = start_heartbeat(args.beat) if args.beat > 0 else None
    started = time.monotonic()
    while True:
        time.sleep(0.05)
        now = time.monotonic()
        if stopping and now - stopping[0] >= args.term_delay:
            return 0
        if args.exit_after is not None and now - started >= args.exit_after:
            return args.code
        if args.hang_after is not None and heartbeat is not None and now - started >= args.hang_after:
            heartbeat.stop()


if __name__ == "__main__":
    sys.exit(main())
