"""`zenith supervise`: run and watch the worker dyno's pools."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from zenith.config import Settings, get_settings
from zenith.supervisor.publish import StatusPublisher, status_file_path
from zenith.supervisor.specs import PoolSpec, SupervisorPolicy, default_pools, policy_from_settings, select_pool_names, supervise_pool_names
from zenith.supervisor.supervisor import Supervisor

# LogRecord attributes that are not extra fields given by the caller.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in line:
                line[key] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """JSON lines on stderr, unless the process already configured logging."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def runtime_dir_for(settings: Settings) -> Path:
    """Folder for this supervisor's heartbeat files (one per supervisor pid)."""
    return Path(settings.data_dir) / "run" / f"supervisor-{os.getpid()}"


def supervise(pools: Sequence[PoolSpec], *, settings: Settings, policy: SupervisorPolicy | None = None, redis_url: str | None = None) -> int:
    """Run the supervisor over `pools` until it stops; the exit code.

    Parameters:
      pools: Pools in start order.
      settings: Settings (DATA_DIR for status and heartbeats, REDIS_URL for status).
      policy: Restart policy.  Default: from the SUPERVISOR_* settings.
      redis_url: Redis for the status snapshot.  Default: settings.redis_url.
    """
    chosen_policy = policy or policy_from_settings(settings)
    publisher = StatusPublisher(
        path=status_file_path(settings.data_dir),
        redis_url=redis_url or settings.redis_url,
        ttl=max(30.0, 3 * chosen_policy.status_interval),
    )
    supervisor = Supervisor(pools, policy=chosen_policy, runtime_dir=runtime_dir_for(settings), publisher=publisher)
    return asyncio.run(supervisor.run())


def run_supervise(args: argparse.Namespace) -> int:
    """`zenith supervise [--pools NAME ...]`."""
    settings = get_settings()
    configure_logging(settings.log_level)
    names = select_pool_names(getattr(args, "pools", None), settings=settings, default=supervise_pool_names(settings))
    pools = default_pools(settings, names=names)
    return supervise(pools, settings=settings)
