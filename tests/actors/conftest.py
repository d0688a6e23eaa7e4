"""Fixtures of the actor tests: processes that are always reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn():
    """Start ``[python, *argv]`` from the repo root; every process is killed and reaped after the test."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], *, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        process = subprocess.Popen([sys.executable, *argv], cwd=REPO_ROOT, env=full_env, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
