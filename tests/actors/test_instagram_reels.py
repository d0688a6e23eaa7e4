"""Instagram Reels through real workers against the fake Instagram: an account verified by
the code in its bio, then a reel sent as a share link resolved, stored and credited."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.actors.conftest import eventually
from tests.fakes.instagram import run_fake_instagram
from zenith.domain.verification import generate_code
from zenith.messaging.contract import SUBMIT_VIDEO, VERIFY_ACCOUNT, send
from zenith.storage import accounts
from zenith.storage.db import fetch_all


@pytest.fixture
def fake_instagram():
    with run_fake_instagram() as server:
        yield server


def _instagram_env(fake_instagram) -> dict[str, str]:
    hosts = ("www.instagram.com", "instagram.com")
    return {
        "INSTAGRAM_BASE_URL": fake_instagram.url,
        "HTTP_HOST_MAP": ",".join(f"{host}=127.0.0.1:{fake_instagram.port}" for host in hosts),
    }


async def test_bio_code_verifies_then_a_shared_reel_earns(running_worker, sandbox, fake_instagram, make_user, pool):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    username, user_id = f"reels.{uuid.uuid4().hex[:8]}", str(uuid.uuid4().int)[:11]
    async with pool.connection() as conn:
        account = await accounts.create_pending(
            conn, user_id=user.id, platform="instagram", handle=username, verification_code=generate_code()
        )
    fake_instagram.state.add_user(username, user_id=user_id, bio=f"dance reels 💃 {account.verification_code}")
    shortcode, token = "C" + uuid.uuid4().hex[:10], "BA" + uuid.uuid4().hex[:9]
    fake_instagram.state.add_reel(shortcode, views=15_000, author=username, author_id=user_id, caption="#zenith reel")
    fake_instagram.state.add_share_link(token, shortcode)

    async with running_worker(**_instagram_env(fake_instagram)) as worker:
        send(VERIFY_ACCOUNT, account.id, broker=worker.broker)

        async def verified():
            async with pool.connection() as conn:
                checked = await accounts.get(conn, account.id)
            return checked if checked.state == "verified" else None

        checked = await eventually(verified, timeout=20, what="the Instagram account verified")
        assert checked.external_id == user_id
        send(
            SUBMIT_VIDEO,
            user.id,
            f"https://www.instagram.com/share/reel/{token}/",
            uuid.uuid4().hex,
            broker=worker.broker,
        )

        async def credited():
            async with pool.connection() as conn:
                rows = await fetch_all(
                    conn,
                    "SELECT platform, external_id, url, credited, status FROM videos WHERE user_id = %s",
                    (user.id,),
                )
            return rows if rows and rows[0]["credited"] > 0 else None

        rows = await eventually(credited, timeout=30, what="the reel credited")
    assert len(rows) == 1
    assert (rows[0]["platform"], rows[0]["external_id"], rows[0]["status"]) == ("instagram", shortcode, "approved")
    assert rows[0]["url"] == f"https://www.instagram.com/p/{shortcode}/"
    assert rows[0]["credited"] == Decimal("975.00")  # 15,000 views at the default 65 RUB per 1,000


async def test_a_reel_from_someone_elses_account_is_refused(
    running_worker, sandbox, fake_instagram, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    await make_verified_account(user, "instagram", str(uuid.uuid4().int)[:11], handle=f"mine.{uuid.uuid4().hex[:6]}")
    shortcode = "C" + uuid.uuid4().hex[:10]
    fake_instagram.state.add_reel(shortcode, views=50_000, author="someone.else", author_id="999")
    async with running_worker(**_instagram_env(fake_instagram)) as worker:
        send(
            SUBMIT_VIDEO,
            user.id,
            f"https://www.instagram.com/reel/{shortcode}/",
            uuid.uuid4().hex,
            broker=worker.broker,
        )
        message = await state.wait_for_message(user.telegram_id, timeout=20)
    assert message.text.startswith(
        f"The video https://www.instagram.com/reel/{shortcode}/ is not from your verified accounts"
    )
    async with pool.connection() as conn:
        assert await fetch_all(conn, "SELECT id FROM videos WHERE user_id = %s", (user.id,)) == []
