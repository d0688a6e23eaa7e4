"""An API submission may name a campaign: the same rules as in the bot (the creator must have
joined it; it must be open), judged by the real submission worker; an unknown campaign is
refused at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.domain.api_keys import Scope
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.storage import campaigns
from zenith.storage.db import fetch_all, unit_of_work


async def _submit(api, key: str, creator_id: int, body: dict):
    async with api.client.post(
        f"{api.base}/api/v1/creators/{creator_id}/videos", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        return response.status, await response.json()


async def _state(api, key: str, request_id: str) -> dict:
    async with api.client.get(
        f"{api.base}/api/v1/submissions/{request_id}", headers={"Authorization": f"Bearer {key}"}
    ) as response:
        return await response.json()


async def test_a_partner_names_the_campaign_and_its_rules_apply(
    running_worker, serve_api, api_settings, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    creator = await make_user(tier="gold")
    state.add_user(creator.telegram_id)
    channel = new_channel_id()
    await make_verified_account(creator, "youtube", channel)
    async with unit_of_work(pool) as conn:
        joined, foreign = [
            await campaigns.create(
                conn,
                name=f"{name} {uuid.uuid4().hex[:6]}",
                terms=CampaignTerms(rate_per_1000=Decimal("100"), min_views=0),
                status=CampaignStatus.OPEN,
            )
            for name in ("Joined", "Foreign")
        ]
        await campaigns.fund(conn, campaign_id=joined.id, amount=Decimal("500"), idempotency_key=f"f:{joined.id}")
        await campaigns.join(conn, campaign_id=joined.id, user_id=creator.id)
    links = []
    for _ in range(2):
        video_id = new_youtube_id()
        fake_youtube.state.add_video(video_id, views=1_000, channel_id=channel)
        links.append(f"https://youtu.be/{video_id}")

    async with running_worker() as worker:
        api = await serve_api(api_settings, broker=worker.broker)
        key = await api.key(Scope.SUBMIT, name="partner")
        status, body = await _submit(api, key, creator.id, {"url": links[0], "campaign_id": 999_999_999})
        assert (status, body["error"]["code"]) == (404, "campaign_not_found")
        status, stored = await _submit(api, key, creator.id, {"url": links[0], "campaign_id": joined.id})
        assert status == 202
        status, refused = await _submit(api, key, creator.id, {"url": links[1], "campaign_id": foreign.id})
        assert status == 202
        outcomes = await eventually(
            lambda: _outcomes(api, key, [stored["request_id"], refused["request_id"]]),
            timeout=30,
            what="both submissions finished",
        )
    assert outcomes == [("stored", None), ("refused", "campaign_not_joined")]
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT campaign_id FROM videos WHERE user_id = %s", (creator.id,))
        received = await fetch_all(
            conn, "SELECT campaign_id FROM submissions WHERE request_id = %s", (stored["request_id"],)
        )
    assert rows == [{"campaign_id": joined.id}] and received == [{"campaign_id": joined.id}]


async def _outcomes(api, key: str, request_ids: list[str]) -> list[tuple[str, str | None]] | None:
    found = [await _state(api, key, request_id) for request_id in request_ids]
    if any(item["status"] == "received" for item in found):
        return None
    return [(item["status"], item["outcome"]) for item in found]


async def test_a_campaign_not_open_yet_or_paused_is_refused_at_once_and_nothing_is_queued(
    serve_api, api_settings, make_user, pool
):
    creator = await make_user(tier="gold")
    starts = datetime.now(timezone.utc) + timedelta(days=3)
    async with unit_of_work(pool) as conn:
        upcoming = await campaigns.create(
            conn, name=f"Upcoming {uuid.uuid4().hex[:6]}", terms=CampaignTerms(), starts_at=starts
        )
        paused = await campaigns.create(
            conn, name=f"Paused {uuid.uuid4().hex[:6]}", terms=CampaignTerms(), status=CampaignStatus.PAUSED
        )
        for campaign in (upcoming, paused):
            await campaigns.fund(
                conn, campaign_id=campaign.id, amount=Decimal("500"), idempotency_key=f"f:{campaign.id}"
            )
            await campaigns.join(conn, campaign_id=campaign.id, user_id=creator.id)
    api = await serve_api(api_settings)
    key = await api.key(Scope.SUBMIT, name="partner")
    link = f"https://youtu.be/{new_youtube_id()}"
    for campaign, status in ((upcoming, "draft"), (paused, "paused")):
        code, body = await _submit(api, key, creator.id, {"url": link, "campaign_id": campaign.id})
        assert (code, body["error"]["code"]) == (409, "campaign_not_open")
        assert body["error"]["details"] == [{"field": "body.campaign_id", "problem": status}]
        assert body["error"]["message"] == (
            f"Campaign {campaign.id} does not take videos now: it has not opened yet, is paused or is closed."
        )
    async with pool.connection() as conn:
        received = await fetch_all(conn, "SELECT 1 FROM submissions WHERE user_id = %s", (creator.id,))
    assert received == []
    async with api.client.get(f"{api.base}/api/v1/openapi.json") as response:
        spec = await response.json()
    assert "409" in spec["paths"]["/creators/{creator_id}/videos"]["post"]["responses"]
