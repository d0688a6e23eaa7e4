"""Submitting through the API takes the bot's path to a real submission worker: the
creator's own video is stored, checked and credited; a video from an account linked to
another creator is refused (the creator is told, nothing is stored), as in the bot."""

from __future__ import annotations

import uuid

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.domain.api_keys import Scope
from zenith.storage.db import fetch_all


async def _videos_of(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn, "SELECT id, external_id, status, request_id FROM videos WHERE user_id = %s", (user_id,)
        )


async def _submit(api, key: str, creator_id: int, body: dict):
    async with api.client.post(
        f"{api.base}/api/v1/creators/{creator_id}/videos", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        return response.status, await response.json()


async def _get(api, key: str, path: str) -> dict:
    async with api.client.get(api.base + path, headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_partner_submits_its_creators_video_and_not_someone_elses(
    running_worker, serve_api, api_settings, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    owner, other = await make_user(tier="gold"), await make_user(tier="gold")
    for creator in (owner, other):
        state.add_user(creator.telegram_id)
    channel = new_channel_id()
    await make_verified_account(owner, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=20_000, channel_id=channel)
    link = f"https://youtu.be/{video_id}"

    async with running_worker() as worker:
        api = await serve_api(api_settings, broker=worker.broker)
        key = await api.key(Scope.SUBMIT, name="partner")

        # someone else's video: accepted for checking, then refused by the worker like a link sent to the bot
        status, body = await _submit(api, key, other.id, {"url": link})
        assert status == 202 and body["status"] == "queued"
        refusal = await state.wait_for_message(
            other.telegram_id, contains="not from your verified accounts", timeout=20
        )
        assert link in refusal.text or video_id in refusal.text
        refused = await _get(api, key, f"/api/v1/submissions/{body['request_id']}")
        assert (refused["status"], refused["outcome"], refused["video_id"], refused["creator_id"]) == (
            "refused",
            "not_owner",
            None,
            other.id,
        )

        # the owner's: the same idempotency key twice is one submission
        first = await _submit(api, key, owner.id, {"url": link, "idempotency_key": "order-77"})
        again = await _submit(api, key, owner.id, {"url": link, "idempotency_key": "order-77"})
        assert first[0] == again[0] == 202 and first[1]["request_id"] == again[1]["request_id"]
        assert first[1]["url"] == f"https://www.youtube.com/watch?v={video_id}"

        async def credited():
            stats = await _get(api, key, f"/api/v1/creators/{owner.id}/stats")
            return stats if stats["earned"] != "0.00" else None

        stats = await eventually(credited, timeout=30, what="the owner's video credited")
        (stored,) = await _videos_of(pool, owner.id)
        assert stored["request_id"] == first[1]["request_id"] and stored["status"] == "approved"
        submission = await _get(api, key, f"/api/v1/submissions/{first[1]['request_id']}")
        assert (submission["status"], submission["outcome"], submission["video_id"]) == ("stored", None, stored["id"])
        assert submission["finished_at"] is not None
        assert stats["videos"] == 1 and stats["views"] == 20_000 and stats["available"] == stats["earned"]

        video = await _get(api, key, f"/api/v1/videos/{stored['id']}")
        assert video["status"] == "approved" and video["creator_id"] == owner.id
        assert video["history"] and {point["views"] for point in video["history"]} == {20_000}
        assert video["credited"] == stats["earned"]  # a resent submission never credits twice
        listed = await _get(api, key, f"/api/v1/creators/{owner.id}/videos")
        assert listed["total"] == 1 and listed["items"][0]["id"] == stored["id"]

        # now stored for its owner: another creator's submission is a duplicate
        await _submit(api, key, other.id, {"url": link, "idempotency_key": uuid.uuid4().hex})
        await state.wait_for_message(other.telegram_id, contains="already submitted", timeout=20)
    assert await _videos_of(pool, other.id) == []


async def test_an_unknown_submission_is_not_found(api):
    key = await api.key(Scope.READ)
    async with api.client.get(
        f"{api.base}/api/v1/submissions/api:{uuid.uuid4().hex}", headers={"Authorization": f"Bearer {key}"}
    ) as response:
        assert response.status == 404 and (await response.json())["error"]["code"] == "submission_not_found"
    async with api.client.get(
        f"{api.base}/api/v1/submissions/a%20b'--", headers={"Authorization": f"Bearer {key}"}
    ) as response:
        assert response.status == 422 and (await response.json())["error"]["code"] == "invalid_request"


async def test_refusals_the_api_gives_at_once(api, make_user, redis_url, cleanup_namespace):
    from redis.asyncio import Redis

    from tests.bot.conftest import queued

    key = await api.key(Scope.SUBMIT)
    banned = await make_user(status="banned")
    status, body = await _submit(api, key, banned.id, {"url": "https://youtu.be/dQw4w9WgXcQ"})
    assert (status, body["error"]["code"]) == (403, "creator_blocked")
    status, body = await _submit(api, key, 2**62, {"url": "https://youtu.be/dQw4w9WgXcQ"})
    assert (status, body["error"]["code"]) == (404, "creator_not_found")
    creator = await make_user()
    status, body = await _submit(api, key, creator.id, {"url": "https://www.youtube.com/@somechannel"})
    assert (status, body["error"]["code"]) == (422, "invalid_link")
    assert body["error"]["details"] == [{"field": "body.url", "problem": "not_a_video"}]
    assert (
        body["error"]["message"] == "The link was refused: this is not a video link (a profile, channel or playlist)."
    )
    redis = Redis.from_url(redis_url)
    try:
        assert await queued(redis, cleanup_namespace, "submission") == []
    finally:
        await redis.aclose()
