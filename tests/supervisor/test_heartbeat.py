"""The heartbeat helper children call."""

from __future__ import annotations

import os
import time

from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, start_heartbeat


def test_without_a_supervisor_the_heartbeat_does_nothing(monkeypatch):
    monkeypatch.delenv(HEARTBEAT_FILE_ENV, raising=False)
    assert start_heartbeat(0.05) is None


def test_heartbeat_touches_the_file_until_stopped(monkeypatch, tmp_path):
    path = tmp_path / "p.heartbeat"
    monkeypatch.setenv(HEARTBEAT_FILE_ENV, str(path))
    heartbeat = start_heartbeat(0.05)
    assert path.exists()
    first = path.stat().st_mtime_ns
    time.sleep(0.3)
    assert path.stat().st_mtime_ns > first
    heartbeat.stop()
    time.sleep(0.1)
    stopped = path.stat().st_mtime_ns
    time.sleep(0.2)
    assert path.stat().st_mtime_ns == stopped


def test_a_failing_liveness_check_skips_the_beat(monkeypatch, tmp_path):
    path = tmp_path / "p.heartbeat"
    monkeypatch.setenv(HEARTBEAT_FILE_ENV, str(path))
    healthy = [True]
    heartbeat = start_heartbeat(0.05, alive=lambda: healthy[0])
    healthy[0] = False
    time.sleep(0.1)
    frozen = path.stat().st_mtime_ns
    time.sleep(0.2)
    assert path.stat().st_mtime_ns == frozen
    heartbeat.stop()
    assert os.getppid() == heartbeat.parent_pid
