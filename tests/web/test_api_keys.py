"""Keys in the database and `zenith apikey create|list|revoke`: the secret is printed once
and never stored; a revoked key is found no more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zenith.domain.api_keys import hash_key
from zenith.storage import api_keys
from zenith.storage.db import fetch_all

REPO_ROOT = Path(__file__).resolve().parents[2]


def _zenith(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "zenith.cli", "apikey", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


async def test_only_the_hash_is_stored_and_revoking_is_final(pool):
    async with pool.connection() as conn:
        key, plaintext = await api_keys.create(conn, name="stored", scope="read", rate_limit_per_minute=5)
        rows = await fetch_all(conn, "SELECT * FROM api_keys WHERE key_id = %s", (key.key_id,))
        assert plaintext not in json.dumps(rows, default=str) and rows[0]["key_hash"] == hash_key(plaintext)
        assert (await api_keys.find_active(conn, plaintext)).id == key.id
        revoked = await api_keys.revoke(conn, key_id=key.key_id)
        assert revoked.revoked_at is not None and await api_keys.find_active(conn, plaintext) is None
        assert (await api_keys.revoke(conn, key_id=key.key_id)).revoked_at == revoked.revoked_at
        assert await api_keys.revoke(conn, key_id="nokey123") is None
        for name, limit in (("", 5), ("x" * 101, 5), ("ok", 0), ("ok", 10**7)):
            with pytest.raises(ValueError):
                await api_keys.create(conn, name=name, scope="read", rate_limit_per_minute=limit)
        with pytest.raises(ValueError):
            await api_keys.create(conn, name="ok", scope="root", rate_limit_per_minute=5)


def test_the_command_creates_lists_and_revokes(database_url):
    created = _zenith(database_url, "create", "--name", "Partner CLI", "--scope", "submit", "--rate-limit", "42")
    assert created.returncode == 0, created.stderr
    plaintext = created.stdout.strip().splitlines()[-1]
    key_id = plaintext.split("_")[1]
    assert plaintext.startswith("zk_") and f"created key {key_id} (submit, 42 requests/min)" in created.stdout

    listed = _zenith(database_url, "list", "--json")
    (row,) = [row for row in json.loads(listed.stdout) if row["key_id"] == key_id]
    assert (row["name"], row["scope"], row["rate_limit_per_minute"], row["revoked_at"]) == (
        "Partner CLI",
        "submit",
        42,
        None,
    )
    assert plaintext not in listed.stdout and plaintext not in _zenith(database_url, "list").stdout

    assert _zenith(database_url, "revoke", key_id).returncode == 0
    (row,) = [row for row in json.loads(_zenith(database_url, "list", "--json").stdout) if row["key_id"] == key_id]
    assert row["revoked_at"] is not None
    missing = _zenith(database_url, "revoke", "nokey123")
    assert missing.returncode == 1 and "no key" in missing.stderr
    bad = _zenith(database_url, "create", "--name", "x", "--scope", "root")
    assert bad.returncode == 2
