"""Migrations: from empty, re-run, concurrent runs, changed files."""

from __future__ import annotations

import asyncio
import shutil

import psycopg
import pytest

from zenith.storage.migrate import (
    MIGRATIONS_DIR,
    ChecksumMismatch,
    MigrationError,
    apply_migrations,
    load_migrations,
)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


async def test_from_empty_then_rerun_is_a_no_op(empty_database_url):
    names = [m.name for m in load_migrations()]
    assert await apply_migrations(empty_database_url) == names
    assert {"users", "videos", "ledger_transfers", "payouts", "schema_migrations"} <= _tables(empty_database_url)
    assert await apply_migrations(empty_database_url) == []
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(names)


async def test_two_concurrent_runs_apply_each_migration_once(empty_database_url):
    first, second = await asyncio.gather(apply_migrations(empty_database_url), apply_migrations(empty_database_url))
    names = [m.name for m in load_migrations()]
    assert sorted([first, second], key=len) == [[], names]


async def test_changed_applied_migration_is_refused(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    await apply_migrations(empty_database_url, directory=folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(ChecksumMismatch):
        await apply_migrations(empty_database_url, directory=folder)


async def test_failed_migration_leaves_no_trace_and_later_ones_apply(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_good.sql").write_text("CREATE TABLE a (id int);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (id int); SELECT no_such_column FROM a;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        await apply_migrations(empty_database_url, directory=folder)
    assert "b" not in _tables(empty_database_url)
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (id int);")
    assert await apply_migrations(empty_database_url, directory=folder) == ["0002_bad"]


async def test_unknown_recorded_migration_and_bad_file_names_are_errors(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_one.sql").write_text("SELECT 1;")
    await apply_migrations(empty_database_url, directory=folder)
    (folder / "0001_one.sql").rename(folder / "0002_one.sql")
    with pytest.raises(MigrationError, match="does not know"):
        await apply_migrations(empty_database_url, directory=folder)
    (folder / "bad name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0001_name"):
        load_migrations(folder)
