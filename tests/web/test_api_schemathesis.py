"""Schemathesis against the running API: every operation of /api/v1/openapi.json is called
with generated valid and invalid requests (bounded examples, fixed seed), and every answer
must conform to the document: status, content type, headers and body schema, no 5xx."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

from zenith.domain.api_keys import Scope
from zenith.storage import ledger, snapshots, videos
from zenith.storage.db import unit_of_work

MAX_EXAMPLES = 12
RUN_TIMEOUT_SECONDS = 240
CONFIG = Path(__file__).with_name("schemathesis.toml")


async def _seed(pool, make_user) -> None:
    """A creator with a video, views history and money, so some generated ids hit real rows."""
    creator = await make_user()
    async with unit_of_work(pool) as conn:
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id="s" + creator.telegram_id.to_bytes(8, "big").hex()[:10],
            user_id=creator.id,
            url="https://www.youtube.com/watch?v=schemathesis",
            request_id=f"schemathesis:{creator.id}",
        )
        await snapshots.insert(conn, video_id=video.id, views=1234, taken_at=video.submitted_at)
        await ledger.credit_earning(
            conn, user_id=creator.id, amount=Decimal("12.34"), idempotency_key=f"schemathesis:{creator.id}"
        )


async def test_the_api_conforms_to_its_openapi_document(api, pool, make_user, tmp_path):
    await _seed(pool, make_user)
    key = await api.key(Scope.ADMIN, rate_limit=1_000_000, name="schemathesis")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{api.base}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1013",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "10",
        "--no-shrink",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT_SECONDS)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "Tested: 9" in text, text[-3000:]  # every operation ran
