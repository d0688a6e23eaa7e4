"""The instruction meter counts what a process executes between start and stop, and only that."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from benchmarks.instruction_meter import InstructionMeter, total_instructions

pytestmark = pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/run installs it)"
)

# reads a number of loop turns per line, runs them, answers "done"; "exit" ends it
CHILD = """
import sys
for line in sys.stdin:
    if line.strip() == "exit":
        break
    total = 0
    for i in range(int(line)):
        total += i
    print("done", flush=True)
"""


def _counted(meter: InstructionMeter, child: subprocess.Popen, turns: int) -> int:
    assert child.stdin is not None and child.stdout is not None
    meter.start(child.pid)
    child.stdin.write(f"{turns}\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "done"
    return meter.stop(child.pid)


def test_the_count_grows_with_the_work_done_between_start_and_stop(tmp_path):
    meter = InstructionMeter(keep=tmp_path / "dumps")
    child = subprocess.Popen(
        meter.command([sys.executable, "-c", CHILD]), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("1000\n")  # uncounted: before start
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        small = _counted(meter, child, 20_000)
        large = _counted(meter, child, 200_000)
        again = _counted(meter, child, 20_000)
        child.stdin.write("exit\n")
        child.stdin.flush()
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()
        meter.close()
    assert small > 1_000_000  # a loop turn is hundreds of instructions
    assert 8 < large / small < 13  # ten times the turns: about ten times the count
    assert 0.9 < again / small < 1.1  # counted from zero each time
    kept = sorted((tmp_path / "dumps").iterdir())
    assert [total_instructions(path) for path in kept] == [small, large, again]


def test_a_dump_without_totals_is_an_error(tmp_path):
    dump = tmp_path / "callgrind.1.out"
    dump.write_text("version: 1\ncreator: callgrind\n")
    with pytest.raises(RuntimeError, match="no totals line"):
        total_instructions(dump)
    dump.write_text("events: Ir\nsummary: 12345\n")
    assert total_instructions(dump) == 12345
