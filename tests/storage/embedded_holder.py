"""A process holding the embedded PostgreSQL and Redis, for the embedded-server tests.

Run as ``python -m tests.storage.embedded_holder DATA_DIR SECONDS``: starts (or reuses)
both servers under DATA_DIR, counts a visit in a table and in Redis, prints one JSON
line (URLs, visit counts, server pids), then sleeps SECONDS and exits normally.
"""

from __future__ import annotations

import json
import sys
import time

import psycopg
import redis

from zenith.config import load_settings
from zenith.storage.embedded import resolve_database_url, resolve_redis_url


def main(data_dir: str, seconds: float) -> int:
    settings = load_settings({"DATA_DIR": data_dir})
    database_url, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY)")
        conn.execute("INSERT INTO visits DEFAULT VALUES")
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        postgres_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    client = redis.Redis.from_url(redis_url)
    redis_visits = client.incr("visits")
    redis_pid = client.info("server")["process_id"]
    client.close()
    print(
        json.dumps(
            {
                "database_url": database_url,
                "redis_url": redis_url,
                "visits": visits,
                "redis_visits": redis_visits,
                "backend_pid": postgres_pid,
                "redis_pid": redis_pid,
            }
        ),
        flush=True,
    )
    time.sleep(seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], float(sys.argv[2])))
