"""A platform's answers for a list of videos, reusing the ones it gave a moment ago.

``fetch_stats(runtime, platform, video_ids)`` is ``adapter.fetch_many`` with a short memory
(``zenith.storage.platform_answers``, PLATFORM_ANSWER_CACHE_SECONDS; 0 turns it off):
remembered answers come from Redis, only the rest are asked for, and the new successful
answers are remembered. Errors are never remembered; the adapter's exceptions
(blocked, misconfigured) propagate as before.

The two Redis calls have no spans of their own (``quiet_statements``): the remembering is
one pipeline of a SET per video, whose span formatted every command of it, for every batch
(docs/benchmarks.md, "Tenth round").
"""

from __future__ import annotations

from zenith.actors.runtime import Runtime
from zenith.platforms.base import VideoResult, VideoStats
from zenith.storage import platform_answers
from zenith.storage.cache import dumps, revive
from zenith.telemetry.stages import quiet_statements


async def fetch_stats(runtime: Runtime, platform: str, video_ids: list[str]) -> dict[str, VideoResult]:
    """{video id: VideoStats or the PlatformError of that id} for every id of ``video_ids``."""
    ttl = runtime.settings.platform_answer_cache_seconds
    if not ttl:
        adapter = await runtime.platform(platform)
        return dict(await adapter.fetch_many(list(video_ids)))
    redis = await runtime.redis()
    with quiet_statements():
        remembered = await platform_answers.recall(
            redis, runtime.namespace, platform=platform, video_ids=list(video_ids)
        )
    results: dict[str, VideoResult] = {video_id: revive(VideoStats, data) for video_id, data in remembered.items()}
    missing = [video_id for video_id in video_ids if video_id not in results]
    if missing:
        adapter = await runtime.platform(platform)
        fetched = await adapter.fetch_many(missing)
        results.update(fetched)
        fresh = {video_id: dumps(answer) for video_id, answer in fetched.items() if isinstance(answer, VideoStats)}
        with quiet_statements():
            await platform_answers.remember(redis, runtime.namespace, platform=platform, answers=fresh, ttl=ttl)
    return results
