"""`zenith migrate` and `zenith ledger check` as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]


def zenith(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full_env.update(env, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "zenith", *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_migrate_then_ledger_check_exit_codes(empty_database_url):
    env = {"DATABASE_URL": empty_database_url}
    first = zenith("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout and "0001_initial" in first.stdout
    again = zenith("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout

    clean = zenith("ledger", "check", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("ledger OK")

    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("UPDATE ledger_accounts SET balance = 3 WHERE key = 'system:payouts'")
    broken = zenith("ledger", "check", env=env)
    assert broken.returncode == 1
    assert "account system:payouts: cached balance 3.00 != sum of transfers 0" in broken.stdout


def test_migrate_and_ledger_check_on_embedded_postgres(tmp_path):
    """No DATABASE_URL: both commands start the embedded PostgreSQL under DATA_DIR."""
    env = {"DATABASE_URL": "", "DATA_DIR": str(tmp_path / "data")}
    migrated = zenith("migrate", env=env, timeout=60)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "started embedded PostgreSQL" in migrated.stderr and "0001_initial" in migrated.stdout
    checked = zenith("ledger", "check", env=env, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ledger OK")
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()


def test_children_use_the_embedded_servers_of_their_parent(tmp_path, make_settings, monkeypatch):
    """The parent resolves (and starts) both servers; a child process inherits the URLs."""
    import asyncio

    import redis

    from zenith.storage.embedded import resolve_database_url, resolve_redis_url, stop_embedded_servers
    from zenith.storage.migrate import apply_migrations

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = make_settings(DATA_DIR=str(tmp_path / "data"))
    try:
        db_url, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
        assert resolve_database_url(settings) == db_url  # started once per process
        assert os.environ["DATABASE_URL"] == db_url and os.environ["REDIS_URL"] == redis_url
        assert redis.Redis.from_url(redis_url).ping()
        asyncio.run(apply_migrations(db_url))
        child = zenith("ledger", "check", env={"DATABASE_URL": os.environ["DATABASE_URL"]})
        assert child.returncode == 0, child.stdout + child.stderr
        assert "started embedded" not in child.stderr
    finally:
        stop_embedded_servers()
    assert "DATABASE_URL" not in os.environ
