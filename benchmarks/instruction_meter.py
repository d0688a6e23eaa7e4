"""Instructions a benchmark's process executes over a stretch of the run, counted by callgrind.

CPU seconds on this host move by a third from one minute to the next (docs/benchmarks.md,
"Ninth round"), so a difference of a few per cent between two runs of a worker cannot be
seen in them. The number of instructions the process executes for the same work can:
valgrind's callgrind counts them whatever else the machine is doing.

``InstructionMeter.command`` wraps a command so that it starts under callgrind with
instrumentation off (imports and start-up run at valgrind's uninstrumented speed);
``start(pid)`` turns it on and zeroes the counters, ``stop(pid)`` dumps them and returns the
instructions executed in between, by every thread of the process. Under callgrind the
process runs some fifty times slower and its threads one at a time, so wall-clock rates of a
metered run mean nothing; only the count does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CONTROL_TIMEOUT = 120.0  # s for callgrind_control to reach a busy process


class MeterUnavailable(RuntimeError):
    """valgrind (with callgrind_control) is not installed."""


class InstructionMeter:
    """Counts a subprocess's instructions between ``start`` and ``stop`` (see the module)."""

    def __init__(self, *, keep: Path | None = None) -> None:
        """``keep``: a directory to copy each counted stretch's dump into, for ``callgrind_annotate``."""
        missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
        if missing:
            raise MeterUnavailable(f"{' and '.join(missing)} not found: install valgrind to count instructions")
        self._dumps = Path(tempfile.mkdtemp(prefix="bench-callgrind-"))
        self._keep = keep

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` started under callgrind, counting nothing until ``start``."""
        return [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--quiet",
            f"--callgrind-out-file={self._dumps}/callgrind.%p.out",
            *argv,
        ]

    def start(self, pid: int) -> None:
        self._control(pid, "--instr=on")
        self._control(pid, "--zero")

    def stop(self, pid: int) -> int:
        """Instructions executed since ``start``; the process keeps running, uncounted."""
        before = set(self._dumps.iterdir())
        self._control(pid, "--dump")
        self._control(pid, "--instr=off")
        dumps = [path for path in self._dumps.iterdir() if path not in before and f".{pid}.out" in path.name]
        if len(dumps) != 1:
            raise RuntimeError(f"expected one callgrind dump of process {pid}, found {sorted(map(str, dumps))}")
        if self._keep is not None:
            self._keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(dumps[0], self._keep / dumps[0].name)
        return total_instructions(dumps[0])

    def close(self) -> None:
        shutil.rmtree(self._dumps, ignore_errors=True)

    @staticmethod
    def _control(pid: int, option: str) -> None:
        done = subprocess.run(
            ["callgrind_control", option, str(pid)], capture_output=True, text=True, timeout=CONTROL_TIMEOUT
        )
        if done.returncode != 0:
            raise RuntimeError(f"callgrind_control {option} {pid}: {(done.stdout + done.stderr).strip()}")


def total_instructions(dump: Path) -> int:
    """The ``totals:`` (or ``summary:``) line of a callgrind dump: instructions executed (Ir)."""
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"{dump} has no totals line")
