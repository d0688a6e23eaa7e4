"""Status snapshot: the file the supervisor writes, Redis publishing, `zenith status`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import dramatiq
import redis

from tests.conftest import TEST_RABBITMQ_URL
from tests.supervisor.conftest import REPO_ROOT, wait_until
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import QUEUES
from zenith.supervisor.publish import StatusPublisher
from zenith.supervisor.status import is_fresh, queue_depths, read_redis_snapshots, render


def _zenith_status(data_dir, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(data_dir), "REDIS_URL": "", "BROKER_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "zenith", "status", *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_status_file_and_zenith_status_follow_the_supervisor(supervisors):
    sup = supervisors.start([supervisors.pool("alpha", processes=2), supervisors.pool("beta", restart="transient")])
    alpha = [sup.wait_starts(f"alpha.{i}", 1, timeout=10)[0]["pid"] for i in range(2)]
    beta = sup.wait_starts("beta.0", 1, timeout=10)[0]["pid"]
    wait_until(
        lambda: sup.status() and all(s["pid"] for p in sup.status()["pools"] for s in p["slots"]),
        timeout=15,
        what="status with pids",
    )

    status = sup.status()
    assert status["supervisor"]["pid"] == sup.process.pid and status["supervisor"]["state"] == "running"
    assert is_fresh(status)
    pools = {p["name"]: p for p in status["pools"]}
    assert [s["pid"] for s in pools["alpha"]["slots"]] == alpha and pools["beta"]["slots"][0]["pid"] == beta
    assert pools["beta"]["restart"] == "transient" and pools["alpha"]["processes"] == 2
    assert all(s["state"] == "running" and s["uptime"] >= 0 and s["restarts"] == 0 for s in pools["alpha"]["slots"])

    os.kill(beta, signal.SIGKILL)
    wait_until(
        lambda: {p["name"]: p for p in sup.status()["pools"]}["beta"]["restarts"] == 1,
        timeout=15,
        what="restart in status",
    )

    shown = _zenith_status(sup.data_dir)
    print(shown.stdout)
    assert shown.returncode == 0, shown.stderr
    assert "alpha" in shown.stdout and f"{alpha[0]},{alpha[1]}" in shown.stdout
    assert "killed by SIGKILL" in shown.stdout and "queue depths unknown" in shown.stdout
    as_json = json.loads(_zenith_status(sup.data_dir, "--json").stdout)
    assert as_json["supervisors"][0]["supervisor"]["pid"] == sup.process.pid

    sup.process.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    after = _zenith_status(sup.data_dir)
    assert after.returncode == 1 and "STALE or stopped" in after.stdout


def test_zenith_status_without_any_supervisor_fails(tmp_path):
    shown = _zenith_status(tmp_path)
    assert shown.returncode == 1 and "no supervisor status found" in shown.stdout


def test_old_snapshot_is_stale():
    snapshot = {"published_at": time.time() - 60, "interval": 5, "supervisor": {"state": "running"}, "pools": []}
    assert not is_fresh(snapshot)
    assert "STALE" in render([snapshot], {}, None)


async def test_snapshot_is_published_to_redis(tmp_path, redis_url, namespace):
    prefix = f"{namespace}:supervisor:"
    publisher = StatusPublisher(path=tmp_path / "s.json", redis_url=redis_url, redis_key=prefix + "worker.1", ttl=30)
    snapshot = {
        "published_at": time.time(),
        "interval": 5,
        "supervisor": {"pid": 1, "host": "h", "state": "running"},
        "pools": [],
    }
    try:
        await publisher.publish(snapshot)
        assert json.loads((tmp_path / "s.json").read_text()) == snapshot
        assert read_redis_snapshots(redis_url, prefix=prefix) == [snapshot]
    finally:
        await publisher.close()
        redis.Redis.from_url(redis_url).delete(prefix + "worker.1")


async def test_unreachable_redis_leaves_the_file(tmp_path):
    publisher = StatusPublisher(path=tmp_path / "s.json", redis_url="redis://127.0.0.1:1/0")
    await publisher.publish({"published_at": 1.0})
    assert json.loads((tmp_path / "s.json").read_text()) == {"published_at": 1.0}
    await publisher.close()


def test_queue_depth_counts_ready_and_delayed_redis_messages(make_settings, redis_url, namespace):
    settings = make_settings(REDIS_URL=redis_url)
    broker = build_broker(settings, namespace=namespace)
    try:
        for n in range(3):
            broker.enqueue(
                dramatiq.Message(queue_name="parsing", actor_name="check_videos", args=([n],), kwargs={}, options={})
            )
        broker.enqueue(
            dramatiq.Message(queue_name="rates", actor_name="refresh_rates", args=(), kwargs={}, options={}),
            delay=60_000,
        )
        depths, note = queue_depths(settings, namespace=namespace)
        assert note is None
        assert depths == {queue: {"parsing": 3, "rates": 1}.get(queue, 0) for queue in QUEUES}
        # without an explicit namespace, REDIS_NAMESPACE decides (as in `zenith status`)
        assert queue_depths(make_settings(REDIS_URL=redis_url, REDIS_NAMESPACE=namespace)) == (depths, None)
    finally:
        broker.flush_all()
        redis.Redis.from_url(redis_url).delete(f"{namespace}:__heartbeats__")
        broker.close()


def test_queue_depth_from_rabbitmq(make_settings):
    depths, note = queue_depths(make_settings(BROKER_URL=TEST_RABBITMQ_URL))
    assert note is None and set(depths) == set(QUEUES) and all(isinstance(v, int) and v >= 0 for v in depths.values())


def test_queue_depth_unknown_without_a_broker(make_settings):
    assert queue_depths(make_settings(REDIS_URL="redis://127.0.0.1:1/0"))[1].startswith(
        "queue depths unknown: Redis unreachable"
    )
    assert queue_depths(make_settings())[1] == "queue depths unknown: no BROKER_URL or REDIS_URL"
