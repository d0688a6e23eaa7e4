"""Runs the supervisor over pools given as JSON (argv[1]), with settings from the environment.

JSON: {"pools": [{"name", "argv", "processes", "restart", "heartbeat_timeout",
"stop_grace"}], "policy": {SupervisorPolicy fields}}.
"""

from __future__ import annotations

import json
import sys

from zenith.config import load_settings
from zenith.supervisor.main import supervise, supervisor_lifetime
from zenith.supervisor.specs import PoolSpec, RestartType, SupervisorPolicy


def main() -> int:
    config = json.loads(sys.argv[1])
    pools = [
        PoolSpec(**{**pool, "argv": tuple(pool["argv"]), "restart": RestartType(pool.get("restart", "permanent"))})
        for pool in config["pools"]
    ]
    settings = load_settings()
    policy = {**config["policy"], "critical_pools": tuple(config["policy"].get("critical_pools", ()))}
    with supervisor_lifetime(settings):
        return supervise(pools, settings=settings, policy=SupervisorPolicy(**policy))


if __name__ == "__main__":
    sys.exit(main())
