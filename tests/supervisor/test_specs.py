"""Pool specs from settings and POOL_* overrides; the restart policy from SUPERVISOR_*."""

from __future__ import annotations

import sys

import pytest

from zenith.config import ConfigError
from zenith.supervisor.specs import (
    RestartType,
    default_pools,
    policy_from_settings,
    select_pool_names,
    supervise_pool_names,
    up_pool_names,
)


def test_worker_dyno_pools_run_one_queue_each_with_one_dramatiq_process(make_settings):
    settings = make_settings()
    pools = default_pools(settings, environ={})
    assert [p.name for p in pools] == ["submission", "parsing", "rates", "payouts", "notifications", "bot"]
    parsing = pools[1]
    assert parsing.argv == (
        sys.executable,
        "-m",
        "zenith",
        "worker",
        "--queues",
        "parsing",
        "--processes",
        "1",
        "--threads",
        "32",
    )
    assert parsing.queues == ("parsing",) and parsing.restart is RestartType.PERMANENT and parsing.heartbeat_timeout > 0
    assert pools[-1].argv == (sys.executable, "-m", "zenith", "bot")


def test_webhook_moves_the_bot_off_the_worker_dyno(make_settings):
    assert "bot" not in supervise_pool_names(make_settings(WEBHOOK_URL="https://example.com/hook"))


def test_up_runs_everything_and_the_sandbox_only_without_a_token(make_settings):
    assert up_pool_names(make_settings()) == (
        "sandbox",
        "submission",
        "parsing",
        "rates",
        "payouts",
        "notifications",
        "clock",
        "bot",
        "web",
    )
    assert "sandbox" not in up_pool_names(make_settings(TELEGRAM_BOT_TOKEN="123456:real-looking-bot-token"))


def test_env_overrides_processes_and_threads(make_settings):
    pools = default_pools(
        make_settings(),
        names=["parsing"],
        environ={"POOL_PARSING_PROCESSES": "2", "POOL_PARSING_THREADS": "16", "POOL_PARSING_HEARTBEAT_TIMEOUT": "0"},
    )
    (parsing,) = pools
    assert (
        parsing.processes == 2 and parsing.threads == 16 and parsing.argv[-1] == "16" and parsing.heartbeat_timeout == 0
    )


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"POOL_PARSING_PROCESSES": "two"}, "POOL_PARSING_PROCESSES"),
        ({"POOL_PARSING_PROCESSES": "0"}, "POOL_PARSING_PROCESSES"),
        ({"POOL_PARSING_THREADS": "-1"}, "POOL_PARSING_THREADS"),
        ({"POOL_PARSING_STOP_GRACE": "soon"}, "POOL_PARSING_STOP_GRACE"),
        ({"POOL_CLOCK_PROCESSES": "2"}, "POOL_CLOCK_PROCESSES"),
        ({"POOL_WEB_THREADS": "4"}, "POOL_WEB_THREADS"),
    ],
)
def test_bad_overrides_name_the_variable(make_settings, env, variable):
    with pytest.raises(ConfigError, match=variable):
        default_pools(make_settings(), names=["parsing", "clock", "web"], environ=env)


def test_pool_selection_from_flag_then_setting(make_settings):
    settings = make_settings(SUPERVISOR_POOLS="web,parsing")
    default = supervise_pool_names(settings)
    assert select_pool_names(None, settings=settings, default=default) == ("parsing", "web")
    assert select_pool_names(["rates,payouts"], settings=settings, default=default) == ("rates", "payouts")
    assert select_pool_names(None, settings=make_settings(), default=default) == default
    with pytest.raises(ConfigError, match="--pools: unknown pool"):
        select_pool_names(["parsin"], settings=settings, default=default)
    with pytest.raises(ConfigError, match="SUPERVISOR_POOLS: unknown pool"):
        select_pool_names(None, settings=make_settings(SUPERVISOR_POOLS="nope"), default=default)


def test_policy_from_settings_and_its_validation(make_settings):
    policy = policy_from_settings(
        make_settings(
            SUPERVISOR_POOL_MAX_RESTARTS="3",
            SUPERVISOR_POOL_RESTART_WINDOW="10",
            SUPERVISOR_BACKOFF_BASE_SECONDS="0.25",
        )
    )
    assert (
        policy.max_restarts,
        policy.restart_window,
        policy.backoff_base,
        policy.backoff_cap,
        policy.shutdown_deadline,
    ) == (3, 10.0, 0.25, 30.0, 25.0)
    with pytest.raises(ConfigError, match="SUPERVISOR_POOL_MAX_RESTARTS"):
        policy_from_settings(make_settings(SUPERVISOR_POOL_MAX_RESTARTS="-1"))
    with pytest.raises(ConfigError, match="SUPERVISOR_BACKOFF_CAP_SECONDS"):
        policy_from_settings(make_settings(SUPERVISOR_BACKOFF_BASE_SECONDS="5", SUPERVISOR_BACKOFF_CAP_SECONDS="1"))
    with pytest.raises(ConfigError, match="SUPERVISOR_POOL_RESTART_WINDOW"):
        make_settings(SUPERVISOR_POOL_RESTART_WINDOW="a minute")
    assert policy_from_settings(make_settings(SUPERVISOR_CRITICAL_POOLS="web,clock")).critical_pools == ("web", "clock")
    assert policy_from_settings(make_settings()).critical_pools == ()
    with pytest.raises(ConfigError, match="SUPERVISOR_CRITICAL_POOLS: unknown pool"):
        policy_from_settings(make_settings(SUPERVISOR_CRITICAL_POOLS="webb"))


def test_restart_types_follow_otp():
    assert RestartType.PERMANENT.should_restart(abnormal=False) and RestartType.PERMANENT.should_restart(abnormal=True)
    assert not RestartType.TRANSIENT.should_restart(abnormal=False) and RestartType.TRANSIENT.should_restart(
        abnormal=True
    )
    assert not RestartType.TEMPORARY.should_restart(abnormal=False) and not RestartType.TEMPORARY.should_restart(
        abnormal=True
    )


def test_worker_pools_stop_together_after_web_bot_and_clock(make_settings):
    from zenith.supervisor.supervisor import shutdown_stages

    pools = default_pools(make_settings(), names=up_pool_names(make_settings()))
    stages = [[pool.name for pool in stage] for stage in shutdown_stages(pools)]
    assert stages == [
        ["web"],
        ["bot"],
        ["clock"],
        ["notifications", "payouts", "rates", "parsing", "submission"],
        ["sandbox"],
    ]
