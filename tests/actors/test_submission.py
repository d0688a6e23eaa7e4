"""Submission through a real worker: short links resolved by the safe HTTP client with
the TikTok hostnames served by the fake (HTTP_HOST_MAP), a redirect off TikTok refused
with where it led, and a platform that never answers ends with the creator told."""

from __future__ import annotations

import asyncio
import uuid

from tests.actors.conftest import eventually, new_channel_id, new_tiktok_id, new_youtube_id, send_with_retries
from zenith.messaging.contract import SUBMIT_VIDEO, send
from zenith.storage.db import fetch_all

SHORT_LINK_HOSTS = ("vm.tiktok.com", "vt.tiktok.com", "tiktok.com", "www.tiktok.com")


def _host_map(fake_tiktok) -> str:
    return ",".join(f"{host}=127.0.0.1:{fake_tiktok.port}" for host in SHORT_LINK_HOSTS)


async def _videos_of(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn,
            "SELECT external_id, status, credited, url, request_id FROM videos WHERE user_id = %s ORDER BY id",
            (user_id,),
        )


async def test_short_links_of_every_form_resolve_to_the_video_and_earn(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold")
    state.add_user(user.telegram_id)
    author, author_id = f"maker{uuid.uuid4().hex[:8]}", "68" + str(uuid.uuid4().int)[:17]
    await make_verified_account(user, "tiktok", author_id, handle=author)
    links = {}
    for form in ("https://vm.tiktok.com/{code}/", "https://vt.tiktok.com/{code}/", "https://www.tiktok.com/t/{code}/"):
        video_id, code = new_tiktok_id(), "ZM" + uuid.uuid4().hex[:7]
        fake_tiktok.state.add_video(video_id, views=10_000, author=author, author_id=author_id)
        fake_tiktok.state.add_short_link(code, video_id)
        links[video_id] = form.format(code=code)

    async with running_worker(HTTP_HOST_MAP=_host_map(fake_tiktok)) as worker:
        for link in links.values():
            send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, broker=worker.broker)

        async def all_credited():
            rows = await _videos_of(pool, user.id)
            return rows if len(rows) == 3 and all(row["credited"] > 0 for row in rows) else None

        rows = await eventually(all_credited, timeout=30, what="three short-linked videos credited")
    assert {row["external_id"] for row in rows} == set(links)
    assert all(row["status"] == "approved" and row["url"].startswith("https://www.tiktok.com/@") for row in rows)
    short_paths = [path for method, path in fake_tiktok.state.calls if path.startswith(("/ZM", "/t/ZM"))]
    assert len(short_paths) >= 3  # the short links really went through the fake


async def test_a_short_link_redirecting_off_tiktok_is_refused_with_where_it_leads(
    running_worker, sandbox, fake_tiktok, make_user, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    code = "ZM" + uuid.uuid4().hex[:7]
    fake_tiktok.state.redirects[f"/{code}/"] = "https://login.evil-example.com/steal?next=tiktok"
    link = f"https://vm.tiktok.com/{code}/"
    async with running_worker(HTTP_HOST_MAP=_host_map(fake_tiktok)) as worker:
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, contains="evil-example", timeout=15)
    assert (
        message.text
        == f"The link {link} leads to login.evil-example.com, which is not TikTok, YouTube or Instagram. Send the video's own TikTok, YouTube or Instagram link."
    )
    assert await _videos_of(pool, user.id) == []


async def test_a_platform_that_never_answers_ends_with_the_creator_asked_to_resend(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool, fast_platform_retries
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=5_000, channel_id=channel)
    fake_youtube.state.fail_next("500", times=1_000)
    request_id = uuid.uuid4().hex
    try:
        async with running_worker() as worker:
            send_with_retries(
                worker.broker, SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", request_id, max_retries=2
            )
            message = await state.wait_for_message(user.telegram_id, contains="send the link again", timeout=20)
            await asyncio.sleep(1.0)
    finally:
        fake_youtube.state.failures.clear()
    assert message.text.startswith(f"⏳ We could not check https://youtu.be/{video_id} right now")
    assert len(state.messages_for(user.telegram_id)) == 1
    assert len(fake_youtube.state.ids_per_call("videos")) == 3 * 3  # 3 deliveries x 3 adapter attempts
    assert await _videos_of(pool, user.id) == []  # nothing half-written
