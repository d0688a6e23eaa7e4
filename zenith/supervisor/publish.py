"""Where the supervisor's status snapshot goes: a JSON file, and Redis when reachable.

The file (``DATA_DIR/status/supervisor.json``) is written atomically (temporary file +
rename) so a reader never sees half a snapshot. Redis (key
``<REDIS_NAMESPACE>:supervisor:<instance>``, expiring after a few intervals) lets `zenith status`
on another dyno see this one; it is optional, and a Redis outage never disturbs
supervision.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # imported lazily at run time: a supervisor without Redis never loads it
    from redis.asyncio import Redis

logger = logging.getLogger("zenith.supervisor")

STATUS_KEY_PREFIX = "zenith:supervisor:"  # in the default REDIS_NAMESPACE


def status_key_prefix(namespace: str = "zenith") -> str:
    """Prefix of the supervisors' status keys in `namespace` (REDIS_NAMESPACE)."""
    return f"{namespace}:supervisor:"


def status_file_path(data_dir: Path) -> Path:
    """The supervisor's status file under DATA_DIR."""
    return Path(data_dir) / "status" / "supervisor.json"


def instance_name() -> str:
    """This supervisor's name: Heroku's DYNO (e.g. worker.1), else the host name."""
    return os.environ.get("DYNO") or socket.gethostname()


def write_status_file(path: Path, snapshot: Mapping[str, Any]) -> None:
    """Write `snapshot` as JSON to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".supervisor-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(snapshot, out, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class StatusPublisher:
    """Publishes snapshots to the status file and, optionally, to Redis.

    Parameters:
      path(Path): The status file.
      redis_url(str | None): Redis to publish to; None: file only.
      redis_key(str | None): Key of this supervisor.  Default: zenith:supervisor:<instance>
        (`zenith supervise` passes its REDIS_NAMESPACE's prefix).
      ttl(float): Seconds the Redis key lives unless refreshed.  Default: 30.
    """

    def __init__(
        self, *, path: Path, redis_url: str | None = None, redis_key: str | None = None, ttl: float = 30.0
    ) -> None:
        self.path = path
        self.redis_url = redis_url
        self.redis_key = redis_key or STATUS_KEY_PREFIX + instance_name()
        self.ttl = ttl
        self._redis: Redis | None = None
        self._redis_failing = False

    async def publish(self, snapshot: Mapping[str, Any]) -> None:
        try:
            write_status_file(self.path, snapshot)
        except OSError as exc:
            logger.warning("status file not written: %s", exc, extra={"event": "status_file_failed"})
        if self.redis_url:
            await self._publish_redis(self.redis_url, snapshot)

    async def _publish_redis(self, url: str, snapshot: Mapping[str, Any]) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        try:
            if self._redis is None:
                self._redis = aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
            await self._redis.set(self.redis_key, json.dumps(snapshot, sort_keys=True), px=int(self.ttl * 1000))
        except (RedisError, OSError) as exc:
            if not self._redis_failing:
                logger.warning(
                    "status not published to Redis (file only): %s", exc, extra={"event": "status_redis_failed"}
                )
            self._redis_failing = True
            return
        if self._redis_failing:
            logger.info("status published to Redis again", extra={"event": "status_redis_recovered"})
        self._redis_failing = False

    async def close(self) -> None:
        if self._redis is not None:
            try:
                await self._redis.aclose()
            except Exception:  # closing a broken connection must not fail shutdown
                pass
            self._redis = None
