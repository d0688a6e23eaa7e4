"""Versioned SQL migrations: ``migrations/NNNN_name.sql`` applied in order, once each.

Each migration runs in its own transaction together with its row in
``schema_migrations`` (name + SHA-256 of the file), so a failed migration leaves no
trace and a re-run picks up where it stopped. A session-level advisory lock on a fixed
key makes concurrent runs (two dynos starting at once) take turns: the second one waits,
then finds nothing left to do.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_lock key shared by every `zenith migrate` ("zenith" in ASCII)
ADVISORY_LOCK_KEY = 0x7A656E697468
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The migrations on disk and those recorded in the database disagree."""


class ChecksumMismatch(MigrationError):
    """An applied migration's file changed after it ran; write a new migration instead."""


@dataclass(frozen=True)
class Migration:
    name: str  # file name without .sql, e.g. "0001_initial"
    sql: str
    checksum: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, ordered by number; raise MigrationError on a bad name."""
    found: list[Migration] = []
    numbers: set[str] = set()
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file name must look like 0001_name.sql: {path.name}")
        if match.group(1) in numbers:
            raise MigrationError(f"two migrations share the number {match.group(1)}")
        numbers.add(match.group(1))
        sql = path.read_text(encoding="utf-8")
        found.append(Migration(path.stem, sql, hashlib.sha256(sql.encode("utf-8")).hexdigest()))
    return found


async def apply_migrations(url: str, *, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations of ``directory`` to the database at ``url``.

    Parameters:
      url: PostgreSQL URL.
      directory: folder of ``NNNN_name.sql`` files (default: this package's migrations).

    Returns the names of the migrations applied by this call (empty when up to date).
    Raises ``ChecksumMismatch`` if an applied migration's file changed and
    ``MigrationError`` if the database has migrations this code does not know.
    """
    migrations = load_migrations(directory)
    applied_now: list[str] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name       text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            cursor = await conn.execute("SELECT name, checksum FROM schema_migrations")
            recorded = {name: checksum for name, checksum in await cursor.fetchall()}
            _verify(migrations, recorded)
            for migration in migrations:
                if migration.name in recorded:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql.encode("utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                        (migration.name, migration.checksum),
                    )
                logger.info("applied migration %s", migration.name)
                applied_now.append(migration.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def _verify(migrations: list[Migration], recorded: dict[str, str]) -> None:
    known = {m.name: m for m in migrations}
    unknown = sorted(set(recorded) - set(known))
    if unknown:
        raise MigrationError(f"database has migrations this code does not know: {', '.join(unknown)}")
    for name, checksum in recorded.items():
        if known[name].checksum != checksum:
            raise ChecksumMismatch(f"migration {name} changed after it was applied; add a new migration instead")


def run_migrate(args: argparse.Namespace) -> int:
    """``zenith migrate``: apply pending migrations to the configured database."""
    from zenith.config import get_settings
    from zenith.storage.db import redact_url
    from zenith.storage.embedded import resolve_database_url

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = resolve_database_url(get_settings())
    try:
        applied = asyncio.run(apply_migrations(url))
    except MigrationError as exc:
        print(f"zenith migrate: {exc}")
        return 1
    if applied:
        print(f"applied {len(applied)} migration(s) to {redact_url(url)}: {', '.join(applied)}")
    else:
        print(f"{redact_url(url)} is up to date")
    return 0
