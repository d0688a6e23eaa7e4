"""What the supervisor runs: one `PoolSpec` per pool, and the policy it restarts them by.

A pool is N identical OS processes running one command. The worker pools each consume
one Dramatiq queue with ``--processes 1`` per OS process, so the supervisor (not
Dramatiq's CLI, which exits when one of its workers dies) is what keeps them alive.

Environment overrides, per pool (NAME is the pool name in upper case):

* ``POOL_<NAME>_PROCESSES`` -- OS processes of a worker pool (>= 1)
* ``POOL_<NAME>_THREADS`` -- Dramatiq threads per process of a worker pool (>= 1)
* ``POOL_<NAME>_HEARTBEAT_TIMEOUT`` -- seconds without a heartbeat before a process
  counts as hung and is killed (0: no hang detection)
* ``POOL_<NAME>_STOP_GRACE`` -- seconds a process gets after SIGTERM before SIGKILL
"""

from __future__ import annotations

import enum
import os
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Mapping, Sequence

from zenith.config import ConfigError, Settings


class RestartType(str, enum.Enum):
    """When a process that exited is started again (Erlang/OTP child restart types)."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only after an abnormal exit (non-zero, signal, hung)
    TEMPORARY = "temporary"  # never

    def should_restart(self, *, abnormal: bool) -> bool:
        if self is RestartType.PERMANENT:
            return True
        if self is RestartType.TRANSIENT:
            return abnormal
        return False


@dataclass(frozen=True)
class PoolSpec:
    """One pool of identical processes.

    Parameters:
      name(str): Pool name, unique; used in logs, status and env overrides.
      argv(tuple[str, ...]): Command each process runs.
      processes(int): How many processes of this command run at once.  Default: 1.
      threads(int | None): Threads per process (worker pools), informational for others.
      queues(tuple[str, ...]): Dramatiq queues the pool consumes (for `zenith status`).
      restart(RestartType): Restart type.  Default: permanent.
      heartbeat_timeout(float): Seconds without a heartbeat before a process is killed
        as hung; 0 disables hang detection.  Default: 0.
      stop_grace(float): Seconds between SIGTERM and SIGKILL on shutdown.  Default: 10.
      env(Mapping[str, str]): Extra environment for the processes.
    """

    name: str
    argv: tuple[str, ...]
    processes: int = 1
    threads: int | None = None
    queues: tuple[str, ...] = ()
    restart: RestartType = RestartType.PERMANENT
    heartbeat_timeout: float = 0.0
    stop_grace: float = 10.0
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ConfigError(f"pool name must be letters, digits or _: {self.name!r}")
        if not self.argv:
            raise ConfigError(f"pool {self.name}: empty command")
        if self.processes < 1:
            raise ConfigError(f"pool {self.name}: processes must be >= 1, got {self.processes}")
        if self.heartbeat_timeout < 0 or self.stop_grace < 0:
            raise ConfigError(f"pool {self.name}: heartbeat_timeout and stop_grace must be >= 0")


@dataclass(frozen=True)
class SupervisorPolicy:
    """How the supervisor restarts and stops processes.

    Parameters:
      max_restarts(int): Each pool's restart intensity: a pool restarted more often
        than this within `restart_window` seconds is stopped and marked failed (it
        escalates to the root supervisor).  Default: 10.
      restart_window(float): Seconds over which a pool's restarts are counted.  Default: 300.
      backoff_base(float): Delay before the first restart.  Default: 0.5.
      backoff_cap(float): Longest delay between restarts.  Default: 30.
      healthy_after(float): Uptime after which a process's backoff resets.  Default: 60.
      shutdown_deadline(float): Seconds after SIGTERM when everything left gets
        SIGKILL.  Default: 25 (Heroku SIGKILLs the dyno after 30).
      status_interval(float): Seconds between status snapshots.  Default: 5.
      jitter(float): Relative random spread of each backoff delay.  Default: 0.2.
      critical_pools(tuple[str, ...]): Pools whose failure stops the whole supervisor
        with exit code 1.  Default: none.
    """

    max_restarts: int = 10
    restart_window: float = 300.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    healthy_after: float = 60.0
    shutdown_deadline: float = 25.0
    status_interval: float = 5.0
    jitter: float = 0.2
    critical_pools: tuple[str, ...] = ()


# Worker pools: (pool/queue name, default threads). Start order = this order.
WORKER_POOLS: tuple[tuple[str, int], ...] = (
    ("submission", 4),
    # async: a thread only waits for its batch on the event loop; 32 keep 32 platform calls in flight
    ("parsing", 32),
    ("rates", 1),
    ("payouts", 2),
    # a send holds its thread for Telegram's round trip: 16 in flight keep 30/s at ~0.5 s
    ("notifications", 16),
)
# Pools started in this order and stopped in reverse: the sandbox before the bot that
# talks to it, the web process (which takes traffic) last.
ALL_POOLS = ("sandbox",) + tuple(name for name, _ in WORKER_POOLS) + ("clock", "bot", "web")
WORKER_HEARTBEAT_TIMEOUT = 60.0
SINGLETON_HEARTBEAT_TIMEOUT = 60.0


def policy_from_settings(settings: Settings) -> SupervisorPolicy:
    """The restart policy of SUPERVISOR_* settings; ConfigError names a bad variable."""
    checks = (
        ("SUPERVISOR_POOL_MAX_RESTARTS", settings.supervisor_pool_max_restarts, 0),
        ("SUPERVISOR_POOL_RESTART_WINDOW", settings.supervisor_pool_restart_window, 0.001),
        ("SUPERVISOR_BACKOFF_BASE_SECONDS", settings.supervisor_backoff_base_seconds, 0),
        ("SUPERVISOR_BACKOFF_CAP_SECONDS", settings.supervisor_backoff_cap_seconds, 0),
        ("SUPERVISOR_HEALTHY_AFTER_SECONDS", settings.supervisor_healthy_after_seconds, 0),
        ("SUPERVISOR_SHUTDOWN_SECONDS", settings.supervisor_shutdown_seconds, 0),
        ("SUPERVISOR_STATUS_INTERVAL_SECONDS", settings.supervisor_status_interval_seconds, 0.1),
    )
    for env, value, minimum in checks:
        if value < Decimal(str(minimum)):
            raise ConfigError(f"{env} is malformed: must be >= {minimum}, got {value}")
    if settings.supervisor_backoff_cap_seconds < settings.supervisor_backoff_base_seconds:
        raise ConfigError("SUPERVISOR_BACKOFF_CAP_SECONDS must be >= SUPERVISOR_BACKOFF_BASE_SECONDS")
    unknown = sorted(set(settings.supervisor_critical_pools) - set(ALL_POOLS))
    if unknown:
        raise ConfigError(
            f"SUPERVISOR_CRITICAL_POOLS: unknown pool(s) {', '.join(unknown)}; known: {', '.join(ALL_POOLS)}"
        )
    return SupervisorPolicy(
        max_restarts=settings.supervisor_pool_max_restarts,
        restart_window=float(settings.supervisor_pool_restart_window),
        critical_pools=tuple(settings.supervisor_critical_pools),
        backoff_base=float(settings.supervisor_backoff_base_seconds),
        backoff_cap=float(settings.supervisor_backoff_cap_seconds),
        healthy_after=float(settings.supervisor_healthy_after_seconds),
        shutdown_deadline=float(settings.supervisor_shutdown_seconds),
        status_interval=float(settings.supervisor_status_interval_seconds),
    )


def supervise_pool_names(settings: Settings) -> tuple[str, ...]:
    """Pools of the worker dyno: every worker pool, plus the bot when it long-polls.

    With WEBHOOK_URL set, updates arrive at the web dyno, so no polling bot runs here.
    """
    names = tuple(name for name, _ in WORKER_POOLS)
    return names if settings.webhook_url else names + ("bot",)


def up_pool_names(settings: Settings) -> tuple[str, ...]:
    """Pools of `zenith up`: everything, plus the Bot API sandbox when there is no token."""
    return tuple(name for name in ALL_POOLS if name != "sandbox" or not settings.telegram_bot_token)


def select_pool_names(
    requested: Sequence[str] | None, *, settings: Settings, default: Sequence[str]
) -> tuple[str, ...]:
    """Pools from --pools, else SUPERVISOR_POOLS, else `default`; in start order.

    Accepts comma- or space-separated names. Raises ConfigError for an unknown name.
    """
    source = "--pools"
    names: list[str] = [part.strip() for item in (requested or ()) for part in item.split(",") if part.strip()]
    if not names:
        source, names = "SUPERVISOR_POOLS", list(settings.supervisor_pools)
    if not names:
        return tuple(name for name in ALL_POOLS if name in default)
    unknown = sorted(set(names) - set(ALL_POOLS))
    if unknown:
        raise ConfigError(f"{source}: unknown pool(s) {', '.join(unknown)}; known: {', '.join(ALL_POOLS)}")
    return tuple(name for name in ALL_POOLS if name in names)


def default_pools(
    settings: Settings,
    *,
    names: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> list[PoolSpec]:
    """The specs of `names` (default: the worker dyno's pools), in start order.

    Parameters:
      settings: Process settings.
      names: Pool names to build; see `select_pool_names`.
      environ: Where POOL_<NAME>_* overrides are read.  Default: os.environ.
      python: Interpreter the children run.  Default: sys.executable.
    """
    env = os.environ if environ is None else environ
    chosen = tuple(names) if names is not None else supervise_pool_names(settings)
    threads_by_pool = dict(WORKER_POOLS)
    specs: list[PoolSpec] = []
    for name in ALL_POOLS:
        if name not in chosen:
            continue
        overrides = _Overrides(name, env)
        if name in threads_by_pool:
            threads = overrides.positive_int("THREADS", threads_by_pool[name])
            specs.append(
                PoolSpec(
                    name=name,
                    argv=(
                        python,
                        "-m",
                        "zenith",
                        "worker",
                        "--queues",
                        name,
                        "--processes",
                        "1",
                        "--threads",
                        str(threads),
                    ),
                    processes=overrides.positive_int("PROCESSES", 1),
                    threads=threads,
                    queues=(name,),
                    heartbeat_timeout=overrides.seconds("HEARTBEAT_TIMEOUT", WORKER_HEARTBEAT_TIMEOUT),
                    stop_grace=overrides.seconds("STOP_GRACE", 15.0),
                )
            )
            continue
        # clock, bot, web and sandbox run exactly one process each: two clocks would
        # double-enqueue, two polling bots conflict at Telegram, two webs share one PORT.
        overrides.reject("PROCESSES", f"the {name} pool runs exactly one process")
        overrides.reject("THREADS", f"the {name} pool has no threads setting")
        specs.append(
            PoolSpec(
                name=name,
                argv=(python, "-m", "zenith", name),
                heartbeat_timeout=overrides.seconds(
                    "HEARTBEAT_TIMEOUT", 0.0 if name == "sandbox" else SINGLETON_HEARTBEAT_TIMEOUT
                ),
                stop_grace=overrides.seconds("STOP_GRACE", 5.0 if name == "sandbox" else 10.0),
            )
        )
    return specs


class _Overrides:
    """Reads and validates POOL_<NAME>_<KEY> variables."""

    def __init__(self, pool: str, environ: Mapping[str, str]) -> None:
        self.prefix = f"POOL_{pool.upper()}_"
        self.environ = environ

    def _raw(self, key: str) -> tuple[str, str | None]:
        var = self.prefix + key
        raw = self.environ.get(var)
        return var, (raw.strip() if raw is not None and raw.strip() else None)

    def positive_int(self, key: str, default: int) -> int:
        var, raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{var} is malformed: not a whole number: {raw!r}") from None
        if value < 1:
            raise ConfigError(f"{var} is malformed: must be >= 1, got {value}")
        return value

    def seconds(self, key: str, default: float) -> float:
        var, raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ConfigError(f"{var} is malformed: not a number of seconds: {raw!r}") from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"{var} is malformed: must be a number >= 0, got {raw!r}")
        return float(value)

    def reject(self, key: str, why: str) -> None:
        var, raw = self._raw(key)
        if raw is not None:
            raise ConfigError(f"{var} cannot be set: {why}")
