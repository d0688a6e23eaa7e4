"""What a platform answered about a video, kept in Redis for a few seconds.

A new video is fetched twice in quick succession -- by the submission actor (ownership,
title) and by its first check -- and a redelivered message repeats its platform call.
Keeping each answer for PLATFORM_ANSWER_CACHE_SECONDS lets those second calls read Redis
instead of spending platform quota. Keys: ``{namespace}:answer:{platform}:{video id}``;
values are the answer's JSON (``zenith.storage.cache.dumps``). Redis errors only cost the
platform call they would have saved.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.telemetry.metrics import get_metrics

logger = logging.getLogger(__name__)


def answer_key(namespace: str, *, platform: str, video_id: str) -> str:
    return f"{namespace}:answer:{platform}:{video_id}"


async def recall(redis: Redis, namespace: str, *, platform: str, video_ids: list[str]) -> dict[str, Any]:
    """The remembered answers (JSON) of those of ``video_ids`` that have one."""
    if not video_ids:
        return {}
    counter = get_metrics().cache_requests
    try:
        raw = await redis.mget([answer_key(namespace, platform=platform, video_id=v) for v in video_ids])
    except RedisError as exc:
        logger.warning("platform answers not read from Redis (%s); asking %s", exc, platform)
        counter.labels(cache="platform_answer", result="error").inc(len(video_ids))
        return {}
    found = {video_id: json.loads(value) for video_id, value in zip(video_ids, raw, strict=True) if value is not None}
    counter.labels(cache="platform_answer", result="hit").inc(len(found))
    counter.labels(cache="platform_answer", result="miss").inc(len(video_ids) - len(found))
    return found


async def remember(redis: Redis, namespace: str, *, platform: str, answers: dict[str, str], ttl: int) -> None:
    """Keep ``answers`` ({video id: JSON text}) for ``ttl`` seconds; a Redis error is logged and ignored."""
    if not answers or ttl <= 0:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for video_id, text in answers.items():
                pipe.set(answer_key(namespace, platform=platform, video_id=video_id), text, ex=ttl)
            await pipe.execute()
    except RedisError as exc:
        logger.warning("platform answers not kept in Redis (%s)", exc)
