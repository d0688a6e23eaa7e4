"""`zenith trace`: first trace from videos.trace_id, later ones from video_traces, Jaeger links."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from tests.conftest import create_database, drop_database
from zenith.storage import video_traces
from zenith.storage.migrate import apply_migrations
from zenith.telemetry.trace_command import search_url, trace_report
from zenith.telemetry.tracing import tracer
from zenith.telemetry.video_traces import record_video_trace

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def database_url():
    url = create_database()
    import asyncio

    asyncio.run(apply_migrations(url))
    yield url
    drop_database(url)


@pytest.fixture
def video_id(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        user_id = conn.execute(
            "INSERT INTO users (telegram_id) VALUES ((random() * 1e12)::bigint) RETURNING id"
        ).fetchone()[0]
        return conn.execute(
            "INSERT INTO videos (platform, external_id, user_id, url, trace_id) "
            "VALUES ('youtube', md5(random()::text), %s, 'https://youtu.be/x', %s) RETURNING id",
            (user_id, FIRST),
        ).fetchone()[0]


async def test_recheck_traces_are_recorded_once_and_listed_after_the_first(
    database_url, video_id, span_exporter, make_settings
):
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        with tracer().start_as_current_span("recheck video") as span:
            recheck = await record_video_trace(conn, video_id=video_id)
            again = await record_video_trace(conn, video_id=video_id)  # a retried message
        assert recheck == again == format(span.get_span_context().trace_id, "032x")
    out = io.StringIO()
    settings = make_settings(JAEGER_UI_URL="http://jaeger.local:16686/")
    assert trace_report(settings, video_id=video_id, database_url=database_url, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[1] == f"first trace  {FIRST}  http://jaeger.local:16686/trace/{FIRST}"
    rechecks = [line for line in lines if line.startswith("recheck")]
    assert len(rechecks) == 1 and f"http://jaeger.local:16686/trace/{recheck}" in rechecks[0]
    assert any(line.startswith("search") and "zenith.video_id" in line for line in lines)


async def test_a_batch_records_one_trace_per_video_with_its_kind_once(database_url, video_id):
    """The parsing worker's ``record_many``: first checks and re-checks of one trace, twice (redelivery)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        (other,) = conn.execute(
            "INSERT INTO videos (platform, external_id, user_id, url) SELECT 'youtube', md5(random()::text), "
            "user_id, url FROM videos WHERE id = %s RETURNING id",
            (video_id,),
        ).fetchone()
    batch_trace = "0af7651916cd43dd8448eb211c80319c"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for _ in range(2):
            await video_traces.record_many(conn, trace_id=batch_trace, checks=[other], rechecks=[video_id])
        await video_traces.record_many(conn, trace_id=FIRST, checks=[], rechecks=[])  # nothing to record
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT video_id, trace_id, kind FROM video_traces WHERE video_id = ANY(%s) ORDER BY kind",
            ([video_id, other],),
        ).fetchall()
    assert rows == [(other, batch_trace, "check"), (video_id, batch_trace, "recheck")]


async def test_no_trace_is_recorded_when_tracing_is_off(database_url, video_id):
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await record_video_trace(conn, video_id=video_id) is None


def test_search_link_is_url_encoded_tag_query():
    url = search_url("http://jaeger:16686", video_id=42, service="zenith-worker-parsing")
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/search"
    assert query["service"] == ["zenith-worker-parsing"]
    assert json.loads(query["tags"][0]) == {"zenith.video_id": "42"}
    assert " " not in url and '"' not in url


def test_cli_prints_links_and_fails_for_unknown_video(database_url, video_id):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "JAEGER_UI_URL": "http://j:16686",
    }
    found = subprocess.run(
        [sys.executable, "-m", "zenith", "trace", str(video_id)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert f"http://j:16686/trace/{FIRST}" in found.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "zenith", "trace", "999999999"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "no video with id 999999999" in missing.stderr
