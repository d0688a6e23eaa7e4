"""`zenith up`, stopped and started again: the first messages after the restart are answered.

The issue this guards against: the sandbox numbered updates from the start again while
Redis still held the previous run's "already handled" keys, so the bot silently skipped
the first messages. Here the sandbox's state is even lost between the runs, so its update
ids are reused: the bot's content digest tells the new updates apart. (With its state
kept the ids go on increasing: tests/sandbox/test_update_ids_across_restarts.py.)
"""

from __future__ import annotations

import shutil
import uuid

import redis

from tests.conftest import TEST_REDIS_URL
from tests.integration.conftest import free_port, wait_until
from tests.integration.test_up import SandboxControl, _stop


def _new_user() -> int:
    return int(uuid.uuid4().int % 10**9) + 10**9


def _talk(procs, name: str, sandbox: SandboxControl, count: int) -> list[int]:
    """Start `zenith up`, have `count` new users send /start, each answered; their update ids."""
    up = procs.zenith("up", "--no-migrate", name=name)
    wait_until(sandbox.reachable, timeout=60, what="the sandbox pool")
    ids = []
    for _ in range(count):
        uid = _new_user()
        ids.append(sandbox.send(uid, "/start", first_name="Again", language_code="en")["update_id"])
        sandbox.wait(uid, "Hi, Again", timeout=60)  # answered, not skipped as "already handled"
    _stop(procs, up, name=name)
    return ids


def test_restarted_up_answers_the_first_messages(tree, migrated_database_url, redis_namespace, tmp_path):
    data_dir = tmp_path / "data"
    sandbox_port = free_port()
    procs = tree(
        {
            "DATABASE_URL": migrated_database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "REDIS_NAMESPACE": redis_namespace,
            "DATA_DIR": str(data_dir),
            "SANDBOX_PORT": str(sandbox_port),
            "PORT": str(free_port()),
        }
    )
    sandbox = SandboxControl(f"http://127.0.0.1:{sandbox_port}")
    first = _talk(procs, "up-1", sandbox, 3)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        remembered = [key for key in client.scan_iter(match=f"{redis_namespace}:bot:update:*", count=1000)]
        assert {int(key.rsplit(b":", 1)[1]) for key in remembered} >= set(first)
    finally:
        client.close()

    shutil.rmtree(data_dir / "sandbox")  # the sandbox starts from scratch: the same ids again
    second = _talk(procs, "up-2", sandbox, 3)
    assert second == first  # reused ids, new messages: all answered
