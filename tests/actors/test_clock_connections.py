"""The clock process keeps one Redis pool: ticking does not open a connection per tick.

A private redis-server, so the server's own counters (INFO stats
``total_connections_received``) count this clock's connections and nobody else's; the
ticks are counted from the LLENs the clock's queue-depth sampling sends (10 per tick).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

QUEUE_LISTS = 10  # five queues, ready + delayed lists: LLENs per tick


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", client
    client.close()
    server.terminate()
    server.wait(timeout=10)


def _ticks(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_llen", {}).get("calls", 0)) // QUEUE_LISTS


def _wait_for_ticks(client: redis.Redis, clock: subprocess.Popen, count: int, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _ticks(client) < count:
        assert clock.poll() is None, "the clock exited"
        assert time.monotonic() < deadline, f"only {_ticks(client)} ticks in {timeout}s"
        time.sleep(0.1)


def test_clock_ticks_on_the_connections_it_opened_at_start(spawn, actor_env, private_redis):
    url, client = private_redis
    env = {**actor_env, "REDIS_URL": url, "CLOCK_TICK_SECONDS": "0.05", "LOG_LEVEL": "WARNING"}
    clock = spawn(["-m", "zenith", "clock"], env=env, stderr=subprocess.DEVNULL)
    _wait_for_ticks(client, clock, 5)
    warmed = client.info("stats")["total_connections_received"]
    start_ticks = _ticks(client)
    _wait_for_ticks(client, clock, start_ticks + 40)
    opened = client.info("stats")["total_connections_received"] - warmed
    ticks = _ticks(client) - start_ticks
    clients = client.info("clients")["connected_clients"]
    assert ticks >= 40
    # one pool per process: 40 ticks later no connection was opened at all (before: one per tick)
    assert opened == 0, f"{opened} connections opened over {ticks} ticks"
    assert clients <= 6, f"{clients} clients connected"  # the clock's pools and this test's client
