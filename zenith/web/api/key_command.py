"""`zenith apikey create|list|revoke`: the HTTP API's keys, from the operator's terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timezone

from zenith.storage import api_keys
from zenith.storage.db import connect


def _row(key: api_keys.ApiKey) -> dict:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scope": key.scope.value,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


async def _run(url: str, args: argparse.Namespace, default_rate_limit: int) -> int:
    async with connect(url) as conn:
        if args.apikey_command == "create":
            try:
                key, plaintext = await api_keys.create(
                    conn, name=args.name, scope=args.scope, rate_limit_per_minute=args.rate_limit or default_rate_limit
                )
            except ValueError as exc:
                print(f"zenith apikey: {exc}", file=sys.stderr)
                return 2
            print(
                f"created key {key.key_id} ({key.scope.value}, {key.rate_limit_per_minute} requests/min) for {key.name!r}"
            )
            print("the key (shown only now; only its hash is stored):")
            print(plaintext)
            return 0
        if args.apikey_command == "list":
            keys = await api_keys.list_all(conn)
            if args.json:
                print(json.dumps([_row(key) for key in keys], indent=2))
                return 0
            print(f"{'KEY ID':<10} {'SCOPE':<7} {'LIMIT/MIN':>9}  {'STATE':<8} {'CREATED':<20} NAME")
            for key in keys:
                state = "active" if key.active else "revoked"
                print(
                    f"{key.key_id:<10} {key.scope.value:<7} {key.rate_limit_per_minute:>9}  {state:<8} {key.created_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC  {key.name}"
                )
            return 0
        revoked = await api_keys.revoke(conn, key_id=args.key_id)
        if revoked is None:
            print(f"zenith apikey: no key {args.key_id!r}", file=sys.stderr)
            return 1
        assert revoked.revoked_at is not None  # revoke() sets it (or keeps the earlier date)
        print(
            f"revoked key {revoked.key_id} ({revoked.name}) at {revoked.revoked_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
        )
        return 0


def run_apikey(args: argparse.Namespace) -> int:
    from zenith.config import get_settings
    from zenith.storage.embedded import resolve_database_url

    settings = get_settings()
    return asyncio.run(_run(resolve_database_url(settings), args, settings.api_rate_limit_per_minute))
