"""A campaign's account rules at submission, judged on the platform's own profile answer
through a real worker: YouTube's channels.list (creation date, subscribers, a hidden
count), TikTok's profile page (followers). Refusals reach the creator with the reason and
the figures; nothing is stored for them; an account that meets the rules is stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_tiktok_id, new_youtube_id
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.messaging.contract import SUBMIT_VIDEO, send
from zenith.storage import campaigns
from zenith.storage.db import fetch_all, unit_of_work


async def _campaign(pool, user, **terms) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Grown-ups {uuid.uuid4().hex[:6]}",
            terms=CampaignTerms(rate_per_1000=Decimal("100"), min_views=0, **terms),
            status=CampaignStatus.OPEN,
        )
        await campaigns.fund(conn, campaign_id=campaign.id, amount=Decimal("1000"), idempotency_key=f"f:{campaign.id}")
        await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    return campaign


async def _stored(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn, "SELECT external_id, campaign_id FROM videos WHERE user_id = %s ORDER BY id", (user_id,)
        )


async def test_youtube_channel_age_and_subscribers(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    recent = (datetime.now(timezone.utc) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = {  # channel -> (created, subscribers, hidden)
        "young": (recent, 50_000, False),
        "hidden": ("2015-06-01T10:00:00Z", 0, True),
        "small": ("2015-06-01T10:00:00Z", 999, False),
        "fine": ("2015-06-01T10:00:00Z", 1_000, False),
    }
    users, links = {}, {}
    for name, (created, subscribers, hidden) in cases.items():
        user = await make_user(tier="gold", language="en")
        state.add_user(user.telegram_id)
        channel = new_channel_id()
        fake_youtube.state.add_channel(
            channel, handle=f"{name}{uuid.uuid4().hex[:6]}", published_at=created,
            subscribers=subscribers, hidden_subscribers=hidden,
        )  # fmt: skip
        await make_verified_account(user, "youtube", channel)
        video = new_youtube_id()
        fake_youtube.state.add_video(video, views=100, channel_id=channel)
        users[name], links[name] = user, f"https://www.youtube.com/watch?v={video}"
    async with running_worker() as worker:
        for name, user in users.items():
            campaign = await _campaign(pool, user, min_account_age_days=365, min_followers=1_000)
            send(SUBMIT_VIDEO, user.id, links[name], uuid.uuid4().hex, campaign.id, broker=worker.broker)
            users[name] = (user, campaign)
        texts = {}
        for name, (user, _) in users.items():
            # a refusal is the only answer; "fine" hears its approval and then (or just before) its credit
            wanted = "approved" if name == "fine" else ""
            (message, *_) = await eventually(
                lambda user=user, wanted=wanted: [
                    m for m in state.messages_for(user.telegram_id) if wanted in m.text.lower()
                ],
                timeout=30,
                what=f"{name}'s answer",
            )
            texts[name] = message.text
    young, young_campaign = users["young"]
    assert texts["young"] == (
        f"The campaign “{young_campaign.name}” takes videos from accounts at least 365 days old; yours is 10 days "
        f"old on the platform, so {links['young']} was not submitted."
    )
    assert texts["hidden"] == (
        f"The campaign “{users['hidden'][1].name}” needs to see your account's follower count on the platform, "
        f"and it is hidden, so {links['hidden']} was not submitted. Make it public and send the link again."
    )
    assert texts["small"] == (
        f"The campaign “{users['small'][1].name}” takes videos from accounts with at least 1,000 followers; "
        f"yours has 999 on the platform, so {links['small']} was not submitted."
    )
    assert texts["fine"] == f"✅ Video approved, it is earning now: {links['fine']}"
    for name in ("young", "hidden", "small"):
        assert await _stored(pool, users[name][0].id) == []
        assert len(state.messages_for(users[name][0].telegram_id)) == 1
    fine, fine_campaign = users["fine"]
    assert [row["campaign_id"] for row in await _stored(pool, fine.id)] == [fine_campaign.id]
    channel_calls = [call for call in fake_youtube.state.calls if call["path"] == "channels"]
    assert len(channel_calls) == 4 and all(call["params"]["part"] == "snippet,statistics" for call in channel_calls)


async def test_tiktok_followers_in_russian(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="ru")
    state.add_user(user.telegram_id)
    author, author_id = f"few{uuid.uuid4().hex[:8]}", "68" + str(uuid.uuid4().int)[:17]
    fake_tiktok.state.add_user(author, user_id=author_id, followers=120)
    await make_verified_account(user, "tiktok", author_id, handle=author)
    # an age rule is not judged on TikTok (its page tells no creation date); the follower rule is
    campaign = await _campaign(pool, user, min_account_age_days=3650, min_followers=5_000)
    video_id = new_tiktok_id()
    fake_tiktok.state.add_video(video_id, views=100, author=author, author_id=author_id)
    link = f"https://www.tiktok.com/@{author}/video/{video_id}"
    async with running_worker() as worker:
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, campaign.id, broker=worker.broker)
        (message,) = await eventually(lambda: state.messages_for(user.telegram_id), timeout=30, what="the refusal")
        assert message.text == (
            f"Кампания «{campaign.name}» принимает видео аккаунтов, у которых не меньше 5\u202f000 подписчиков; "
            f"у вашего на площадке 120, поэтому {link} не отправлено."
        )
        fake_tiktok.state.add_user(author, user_id=author_id, followers=5_000)  # grew: the same link again
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, campaign.id, broker=worker.broker)
        rows = await eventually(lambda: _stored(pool, user.id), timeout=30, what="the video stored")
    assert rows == [{"external_id": video_id, "campaign_id": campaign.id}]
