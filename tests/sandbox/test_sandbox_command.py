"""`zenith sandbox` as a process: it serves the Bot API on SANDBOX_PORT and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from zenith.sandbox import SANDBOX_TOKEN

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sandbox_command_serves_until_sigterm():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SANDBOX_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "zenith", "sandbox"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.strip() == f"Telegram Bot API sandbox at http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/bot{SANDBOX_TOKEN}/getMe", timeout=5) as resp:
            assert json.loads(resp.read())["result"]["is_bot"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
