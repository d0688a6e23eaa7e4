"""`zenith sandbox` keeps its update ids increasing across restarts, as Telegram does:
after SIGTERM or SIGKILL the next run numbers above everything handed out before."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from zenith.sandbox.update_ids import FILE_NAME, UpdateIdReservation
from zenith.sandbox.updates import FIRST_UPDATE_ID

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


def _run_and_send(data_dir: Path, *, messages: int, stop: signal.Signals) -> list[int]:
    """Start `zenith sandbox`, let a user send `messages` texts, stop it; their update ids."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SANDBOX_PORT": str(port), "DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "zenith", "sandbox"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("Telegram Bot API sandbox at")
        ids = [
            _post(f"http://127.0.0.1:{port}/sandbox/users/1001/send", {"text": f"hello {i}"})["update_id"]
            for i in range(messages)
        ]
        process.send_signal(stop)
        process.wait(timeout=10)
        return ids
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def test_update_ids_keep_increasing_across_sigterm_and_sigkill(tmp_path):
    first = _run_and_send(tmp_path, messages=3, stop=signal.SIGTERM)
    assert first == [FIRST_UPDATE_ID, FIRST_UPDATE_ID + 1, FIRST_UPDATE_ID + 2]
    second = _run_and_send(tmp_path, messages=2, stop=signal.SIGKILL)  # a crash: no goodbye write
    third = _run_and_send(tmp_path, messages=2, stop=signal.SIGTERM)
    print("update ids per run:", first, second, third)
    assert first[-1] < second[0] < second[-1] < third[0]
    assert (tmp_path / "sandbox" / FILE_NAME).exists()


def test_reservation_writes_once_per_block_and_survives_a_garbled_file(tmp_path):
    ids = UpdateIdReservation(tmp_path, first=100, block=10)
    assert ids.start() == 100 and (tmp_path / FILE_NAME).read_text() == "110"
    for update_id in range(100, 110):
        ids.take(update_id)
    assert (tmp_path / FILE_NAME).read_text() == "110"  # still inside the first block
    ids.take(110)
    assert (tmp_path / FILE_NAME).read_text() == "120"
    assert UpdateIdReservation(tmp_path, first=100, block=10).start() == 120  # never below what was handed out
    (tmp_path / FILE_NAME).write_text("not a number")
    assert UpdateIdReservation(tmp_path, first=100, block=10).start() == 100
