"""The bot's side of durable intake and quarantine, through the Telegram sandbox:

* a link is a 'received' submission row before the creator reads "accepted", and the
  broker message only wakes the actor: with the broker emptied after the answer, the
  row is still there for the clock; the same update delivered again stores nothing new;
* admins see quarantined videos with the reason and the raw answer (ru and en), release
  one, and /status counts them; a creator's /quarantine is refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from tests.bot.conftest import ADMIN_ID, new_telegram_id, queued
from zenith.storage import check_faults, submissions, users, videos
from zenith.storage.db import fetch_all, fetch_one, unit_of_work


async def test_links_are_rows_before_the_answer_and_a_redelivered_update_stores_nothing_new(
    bot, sandbox, pool, redis, namespace
):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Creator", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Hi")
    first, other, second = (uuid.uuid4().hex[:11] for _ in range(3))
    sandbox.state.user_sends_text(uid, f"https://youtu.be/{first} and https://www.youtube.com/shorts/{other}")
    await sandbox.state.wait_for_message(uid, contains="2 links accepted")
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT s.* FROM submissions s JOIN users u ON u.id = s.user_id WHERE u.telegram_id = %s ORDER BY s.id",
            (uid,),
        )
    assert [(row["platform"], row["status"]) for row in rows] == [("youtube", "received"), ("youtube", "received")]
    assert rows[0]["url"] == f"https://www.youtube.com/watch?v={first}"
    woken = [m.args[2] for m in await queued(redis, namespace, "submission") if m.actor_name == "submit_video"]
    assert sorted(woken) == sorted(row["request_id"] for row in rows)

    # the broker loses everything: the rows stay, and nothing else remembers the links
    for key in [k async for k in redis.scan_iter(match=f"{namespace}:*")]:
        await redis.delete(key)
    async with pool.connection() as conn:
        assert await submissions.get(conn, request_id=rows[1]["request_id"]) is not None

    # the same Telegram message delivered twice (after the broker lost the update-dedup keys):
    # one row per link, one wake-up, the same answer
    update = sandbox.state.user_sends_text(uid, f"https://youtu.be/{second}")
    answer = await sandbox.state.wait_for_message(uid, contains="1 link accepted")
    for key in [k async for k in redis.scan_iter(match=f"{namespace}:*")]:
        await redis.delete(key)
    sandbox.state._push("message", update["message"])
    await sandbox.state.wait_for_message(uid, contains="1 link accepted", after=answer.message_id)
    async with pool.connection() as conn:
        stored = await fetch_all(
            conn, "SELECT s.status FROM submissions s JOIN users u ON u.id = s.user_id WHERE u.telegram_id = %s", (uid,)
        )
    assert len(stored) == 3
    assert [
        m.actor_name for m in await queued(redis, namespace, "submission")
    ] == []  # received before: not woken twice


async def _quarantined_video(pool, *, raw: str) -> videos.Video:
    async with unit_of_work(pool) as conn:
        user = await fetch_one(
            conn,
            "INSERT INTO users (telegram_id, language, first_name) VALUES (%s, 'en', 'C') RETURNING id",
            (new_telegram_id(),),
        )
        external = uuid.uuid4().hex[:11]
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id=external,
            user_id=user["id"],
            url=f"https://www.youtube.com/watch?v={external}",
            request_id=uuid.uuid4().hex,
            status="approved",
            next_check_at=datetime.now(timezone.utc),
        )
        quarantined = await check_faults.record_unreadable(
            conn,
            video_id=video.id,
            reason="youtube: viewCount='-5000' is not a count",
            raw_answer=raw,
            now=datetime.now(timezone.utc),
            limit=1,
        )
        assert quarantined is None
    return video


async def test_admins_see_release_and_count_quarantined_videos(bot, sandbox, pool):
    video = await _quarantined_video(pool, raw='{"id": "x", "statistics": {"viewCount": "-5000"}} <b>')
    sandbox.state.user_sends_text(ADMIN_ID, "/quarantine", language_code="en")
    listing = await sandbox.state.wait_for_message(ADMIN_ID, contains="Videos in quarantine")
    assert f"#{video.id} · YouTube · {video.url}" in listing.text
    assert (
        "viewCount='-5000' is not a count" in listing.text and '"viewCount": "-5000"}} <b>' in listing.text
    )  # escaped, shown as text
    sandbox.state.user_sends_text(ADMIN_ID, "/status", language_code="en")
    status = await sandbox.state.wait_for_message(ADMIN_ID, contains="Work in PostgreSQL")
    assert "videos in quarantine:" in status.text

    sandbox.state.user_sends_text(ADMIN_ID, "/quarantine 99999999999999999999999", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains="/quarantine VIDEO_ID to release one")
    sandbox.state.user_sends_text(ADMIN_ID, f"/quarantine {video.id}", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{video.id} released from quarantine")
    async with pool.connection() as conn:
        assert await check_faults.get_quarantined(conn, video_id=video.id) is None
        released = await videos.get(conn, video.id)
    assert released.next_check_at is not None and released.next_check_at <= datetime.now(timezone.utc)  # due again
    sandbox.state.user_sends_text(ADMIN_ID, f"/quarantine {video.id}", language_code="en")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{video.id} is not in quarantine")

    other = await _quarantined_video(pool, raw="{}")
    async with pool.connection() as conn:
        admin = await users.find_by_telegram_id(conn, ADMIN_ID)
        await users.set_language(conn, user_id=admin.id, language="ru")
    try:
        sandbox.state.user_sends_text(ADMIN_ID, "/quarantine")
        russian = await sandbox.state.wait_for_message(ADMIN_ID, contains="Видео в карантине")
    finally:  # the admin is shared by the session's tests, which speak English to it
        async with pool.connection() as conn:
            await users.set_language(conn, user_id=admin.id, language=admin.language)
    assert f"#{other.id}" in russian.text and "Причина:" in russian.text

    creator = new_telegram_id()
    sandbox.state.user_sends_text(creator, "/start", first_name="C", language_code="en")
    await sandbox.state.wait_for_message(creator, contains="Hi")
    sandbox.state.user_sends_text(creator, f"/quarantine {other.id}")
    await sandbox.state.wait_for_message(creator, contains="for admins only")
    async with pool.connection() as conn:
        assert await check_faults.get_quarantined(conn, video_id=other.id) is not None
