"""Real process trees: `zenith supervise` / `zenith up` / honcho over real servers.

Every process a test starts gets ``ZENITH_TEST_TAG=<unique>`` in its environment, which
its children inherit; cleanup (and the orphan checks) find them all through
``/proc/*/environ``, so nothing a test started can outlive it, whoever forked it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import psycopg
import pytest
import redis

from tests.conftest import TEST_REDIS_URL, create_migrated_database, drop_database

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TAG_ENV = "ZENITH_TEST_TAG"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def tagged_pids(tag: str) -> set[int]:
    """Live (non-zombie) processes whose environment carries ZENITH_TEST_TAG=`tag`."""
    needle = f"{TAG_ENV}={tag}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z":
            found.add(int(entry.name))
    return found


def describe(pids: Iterable[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out.append(f"{pid}: {cmdline[:120]}")
        except FileNotFoundError:
            pass
    return out


class ProcessTree:
    """Starts commands with one test's environment and tag; kills everything afterwards.

    Parameters:
      root(Path): Folder for log files.
      env(dict[str, str]): Environment of every command (on top of os.environ).
    """

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.tag = uuid.uuid4().hex
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "BROKER_URL")
        }
        self.env = {
            **inherited,
            "PYTHONPATH": str(REPO_ROOT),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            TAG_ENV: self.tag,
            **env,
        }
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, argv: list[str], *, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start `argv` (a full command line) in its own session, output to `name`.log."""
        log_path = self.root / f"{name}.log"
        full_env = {**self.env, **(env or {})}
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv, cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((process, log_path))
        return process

    def zenith(self, *args: str, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "zenith", *args], name=name, env=env)

    def run_zenith(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run a short `zenith` command to its end; its output is captured."""
        full_env = {**self.env, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "zenith", *args],
            cwd=REPO_ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pids(self) -> set[int]:
        return tagged_pids(self.tag)

    def log_lines(self, name: str) -> list[dict]:
        lines = []
        path = self.root / f"{name}.log"
        for raw in path.read_text(errors="replace").splitlines() if path.exists() else []:
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        return lines

    def events(self, name: str, event: str) -> list[dict]:
        return [line for line in self.log_lines(name) if line.get("event") == event]

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.root / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def cleanup(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)


def supervisor_status(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / "status" / "supervisor.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def running_pid(data_dir: Path, pool: str, index: int = 0) -> int | None:
    """The pid of a running process of `pool` per the supervisor's status file."""
    status = supervisor_status(data_dir)
    for entry in (status or {}).get("pools", []):
        if entry["name"] == pool:
            slot = entry["slots"][index]
            return slot["pid"] if slot["state"] == "running" else None
    return None


@pytest.fixture
def migrated_database_url():
    """A fresh migrated database of this test's own, dropped afterwards."""
    url = create_migrated_database("zenith_integration")
    yield url
    drop_database(url)


@pytest.fixture
def redis_namespace():
    """A Redis namespace of this test's own; its keys are deleted afterwards."""
    namespace = f"zt-{uuid.uuid4().hex[:10]}"
    yield namespace
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def tree(tmp_path):
    """A factory of ProcessTree; everything started through it is killed after the test."""
    trees: list[ProcessTree] = []

    def make(env: dict[str, str]) -> ProcessTree:
        made = ProcessTree(tmp_path, env)
        trees.append(made)
        return made

    yield make
    for made in trees:
        made.cleanup()


# ------------------------------------------------------------------- database helpers


def seed_gold_videos(database_url: str, *, external_ids: list[str]) -> tuple[int, list[int]]:
    """A gold creator with approved YouTube videos (as `submit_video` stores them): (user id, video ids)."""
    from zenith.storage import users, videos
    from zenith.storage.db import open_pool

    async def seed() -> tuple[int, list[int]]:
        pool = await open_pool(database_url, min_size=1, max_size=2, name="seed")
        try:
            async with pool.connection() as conn:
                user = await users.get_or_create(
                    conn, telegram_id=int(uuid.uuid4().int % 10**9) + 10**9, language="en", first_name="Gold"
                )
                await users.set_tier(conn, user_id=user.id, tier="gold")
                ids = []
                for external_id in external_ids:
                    video, _ = await videos.insert(
                        conn,
                        platform="youtube",
                        external_id=external_id,
                        user_id=user.id,
                        url=f"https://youtu.be/{external_id}",
                        request_id=uuid.uuid4().hex,
                        status="approved",
                    )
                    ids.append(video.id)
                return user.id, ids
        finally:
            await pool.close()

    return asyncio.run(seed())


def earnings_by_video(database_url: str, video_ids: list[int]) -> dict[int, list]:
    """The earning transfers of each video: {video id: [amount, ...]}."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT video_id, amount FROM ledger_transfers WHERE kind = 'earning' AND video_id = ANY(%s) ORDER BY id",
            (video_ids,),
        ).fetchall()
    found: dict[int, list] = {video_id: [] for video_id in video_ids}
    for video_id, amount in rows:
        found[video_id].append(amount)
    return found


def send_check(redis_url: str, namespace: str, video_ids: list[int]) -> None:
    """Enqueue check_videos(video_ids) on the Redis broker in `namespace`."""
    from zenith.config import load_settings
    from zenith.messaging.broker import build_broker
    from zenith.messaging.contract import CHECK_VIDEOS, send

    broker = build_broker(load_settings({}), redis_url=redis_url, namespace=namespace)
    try:
        send(CHECK_VIDEOS, video_ids, broker=broker)
    finally:
        broker.close()


# ------------------------------------------------------------------- a YouTube that can hold


class Gate:
    """Holds YouTube `videos.list` calls that ask for `held` ids until released.

    `arrived` is set when a held call comes in; `delay` slows every videos call.
    """

    def __init__(self) -> None:
        import threading

        self.held: set[str] = set()
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.delay = 0.0

    def middleware(self):
        from aiohttp import web

        @web.middleware
        async def gate(request, handler):
            ids = set(request.query.get("id", "").split(","))
            if request.path.endswith("/videos"):
                if ids & self.held and not self.released.is_set():
                    self.arrived.set()
                    while not self.released.is_set():
                        await asyncio.sleep(0.05)
                if self.delay:
                    await asyncio.sleep(self.delay)
            return await handler(request)

        return gate


@pytest.fixture
def gated_youtube():
    """The YouTube fake (tests.fakes.youtube) behind a `Gate`: yields (server, gate)."""
    from tests.fakes.server import run_in_thread
    from tests.fakes.youtube import FakeYouTubeState, build_app

    gate = Gate()
    state = FakeYouTubeState()
    app = build_app(state)
    app.middlewares.append(gate.middleware())
    with run_in_thread(app, state) as server:
        try:
            yield server, gate
        finally:
            gate.released.set()
