"""`zenith supervise`: run and watch the worker dyno's pools."""

from __future__ import annotations

import argparse
import asyncio
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Sequence

from zenith.config import Settings, get_settings
from zenith.supervisor.publish import StatusPublisher, instance_name, status_file_path, status_key_prefix
from zenith.supervisor.specs import (
    PoolSpec,
    SupervisorPolicy,
    default_pools,
    policy_from_settings,
    select_pool_names,
    supervise_pool_names,
)
from zenith.supervisor.supervisor import Supervisor


def supervisor_lifetime(settings: Settings) -> AbstractContextManager[None]:
    """JSON log lines on stderr, role "supervisor"; tracing as zenith-supervisor when configured
    (its own spans only: no library instrumentation), flushed at exit; no /metrics."""
    from zenith.bootstrap import process_lifetime

    return process_lifetime(settings, role="supervisor", instrument_libraries=False, metrics=False)


def runtime_dir_for(settings: Settings) -> Path:
    """Folder for this supervisor's heartbeat files (one per supervisor pid)."""
    return Path(settings.data_dir) / "run" / f"supervisor-{os.getpid()}"


def supervise(
    pools: Sequence[PoolSpec],
    *,
    settings: Settings,
    policy: SupervisorPolicy | None = None,
    redis_url: str | None = None,
) -> int:
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
        redis_key=status_key_prefix(settings.redis_namespace) + instance_name(),
        ttl=max(30.0, 3 * chosen_policy.status_interval),
    )
    supervisor = Supervisor(pools, policy=chosen_policy, runtime_dir=runtime_dir_for(settings), publisher=publisher)
    return asyncio.run(supervisor.run())


def run_supervise(args: argparse.Namespace) -> int:
    """`zenith supervise [--pools NAME ...]`."""
    settings = get_settings()
    with supervisor_lifetime(settings):
        names = select_pool_names(
            getattr(args, "pools", None), settings=settings, default=supervise_pool_names(settings)
        )
        pools = default_pools(settings, names=names)
        return supervise(pools, settings=settings)
