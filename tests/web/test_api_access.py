"""/api/v1 access: valid, missing, wrong, revoked and wrong-scope keys; the per-key rate
limit; malformed, oversized and hostile requests answered with a JSON error and its code."""

from __future__ import annotations

import asyncio
import json

from yarl import URL

from tests.bot.conftest import queued
from zenith.domain.api_keys import Scope
from zenith.storage.db import fetch_one


async def _get(api, path: str, key: str | None = None, **headers):
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with api.client.get(api.base + path, headers=headers) as response:
        return response.status, await response.json(), response.headers


async def _post(api, path: str, key: str | None, **kwargs):
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with api.client.post(api.base + path, headers=headers, **kwargs) as response:
        return response.status, await response.json(), response.headers


def _code(body: dict) -> str:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]["code"]


async def test_a_valid_key_reads_and_a_missing_or_unknown_one_is_refused(api, make_user):
    creator = await make_user()
    key = await api.key(Scope.READ)
    status, body, headers = await _get(api, f"/api/v1/creators/{creator.id}/stats", key)
    assert status == 200 and body["creator_id"] == creator.id
    assert headers["X-RateLimit-Limit"] == "10000"

    status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats")
    assert (status, _code(body)) == (401, "missing_api_key")
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")  # right shape, wrong secret
    for wrong in (forged, "zk_nothing", "' OR '1'='1", "x" * 5000):
        status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats", wrong)
        assert (status, _code(body)) == (401, "invalid_api_key"), wrong[:20]
    status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats", **{"Authorization": f"Basic {key}"})
    assert (status, _code(body)) == (401, "invalid_api_key")
    status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats", **{"X-API-Key": key})
    assert status == 200


async def test_a_revoked_key_stops_at_once(api, make_user):
    creator = await make_user()
    key = await api.key(Scope.ADMIN)
    assert (await _get(api, f"/api/v1/creators/{creator.id}/stats", key))[0] == 200
    await api.revoke(key)
    status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats", key)
    assert (status, _code(body)) == (401, "invalid_api_key")


async def test_each_scope_reaches_only_its_endpoints(api, make_user, redis_url, cleanup_namespace):
    from redis.asyncio import Redis

    creator = await make_user()
    read, submit, admin = [await api.key(scope) for scope in (Scope.READ, Scope.SUBMIT, Scope.ADMIN)]
    link = {"url": "https://youtu.be/dQw4w9WgXcQ"}

    status, body, _ = await _post(api, f"/api/v1/creators/{creator.id}/videos", read, json=link)
    assert (status, _code(body)) == (403, "insufficient_scope")
    assert "read" in body["error"]["message"] and "submit" in body["error"]["message"]
    for key in (read, submit):
        status, body, _ = await _get(api, "/api/v1/admin/moderation", key)
        assert (status, _code(body)) == (403, "insufficient_scope")
        status, body, _ = await _get(api, "/api/v1/admin/payouts", key)
        assert (status, _code(body)) == (403, "insufficient_scope")
    assert (await _post(api, f"/api/v1/creators/{creator.id}/videos", submit, json=link))[0] == 202
    assert (await _get(api, f"/api/v1/creators/{creator.id}/stats", submit))[0] == 200
    for path in ("/api/v1/admin/moderation", "/api/v1/admin/payouts", f"/api/v1/creators/{creator.id}/payouts"):
        assert (await _get(api, path, admin))[0] == 200
    assert (await _post(api, f"/api/v1/creators/{creator.id}/videos", admin, json=link))[0] == 202

    redis = Redis.from_url(redis_url)
    try:
        messages = await queued(redis, cleanup_namespace, "submission")
    finally:
        await redis.aclose()
    assert len(messages) == 2  # the refused read key queued nothing


async def test_the_rate_limit_is_per_key(api, make_user):
    creator = await make_user()
    tight, other = await api.key(Scope.READ, rate_limit=3), await api.key(Scope.READ, rate_limit=3)
    path = f"/api/v1/creators/{creator.id}/stats"
    remaining = [(await _get(api, path, tight))[2]["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    status, body, headers = await _get(api, path, tight)
    assert (status, _code(body)) == (429, "rate_limited")
    assert 1 <= int(headers["Retry-After"]) <= 60 and "3" in body["error"]["message"]
    assert (await _get(api, path, other))[0] == 200  # another key is counted apart


async def test_requests_are_let_through_when_the_rate_limit_store_is_down(serve_api, api_settings, make_user):
    from redis.asyncio import Redis

    dead = Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )  # nothing listens there
    api = await serve_api(api_settings, redis=dead)
    creator = await make_user()
    key = await api.key(Scope.READ, rate_limit=1)
    for _ in range(3):
        assert (await _get(api, f"/api/v1/creators/{creator.id}/stats", key))[0] == 200


async def test_malformed_and_oversized_bodies(api, make_user, api_settings):
    creator = await make_user()
    key = await api.key(Scope.SUBMIT)
    path = f"/api/v1/creators/{creator.id}/videos"
    json_type = {"Content-Type": "application/json"}

    for raw in (b"{not json", b'{"url": "https://youtu.be/dQw4w9WgXcQ"', b"\xff\xfe\x00", b""):
        status, body, _ = await _post(api, path, key, data=raw, headers=dict(json_type))
        assert (status, _code(body)) == (400, "malformed_json"), raw
    for value in (
        [],
        "a string",
        42,
        None,
        {"url": 5},
        {"link": "https://youtu.be/dQw4w9WgXcQ"},
        {"url": "https://youtu.be/dQw4w9WgXcQ", "extra": 1},
    ):
        status, body, _ = await _post(api, path, key, data=json.dumps(value), headers=dict(json_type))
        assert (status, _code(body)) == (422, "invalid_request"), value
        assert body["error"]["details"]
    status, body, _ = await _post(
        api, path, key, data=b"url=https://youtu.be/x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (status, _code(body)) == (415, "unsupported_media_type")

    limit = api_settings.api_max_body_bytes
    huge = b'{"url": "' + b"a" * (limit + 10) + b'"}'
    status, body, _ = await _post(api, path, key, data=huge, headers=dict(json_type))
    assert (status, _code(body)) == (413, "body_too_large") and str(limit) in body["error"]["message"]

    async def chunks():  # no Content-Length: refused while reading
        for _ in range(limit // 1024 + 4):
            yield b" " * 1024

    status, body, _ = await _post(api, path, key, data=chunks(), headers=dict(json_type))
    assert (status, _code(body)) == (413, "body_too_large")
    status, body, _ = await _post(api, path, key, json={"url": "https://youtu.be/" + "x" * 3000})
    assert (status, _code(body)) == (422, "invalid_request")
    assert body["error"]["details"][0]["field"] == "body.url"


async def test_injection_and_traversal_strings_change_nothing(api, make_user, pool):
    creator = await make_user()
    key = await api.key(Scope.ADMIN)
    async with pool.connection() as conn:
        users_before = (await fetch_one(conn, "SELECT count(*) AS n FROM users"))["n"]
    hostile_paths = [
        "/api/v1/creators/1%20OR%201=1/stats",
        "/api/v1/creators/1;DROP%20TABLE%20users/stats",
        "/api/v1/creators/'%20OR%20''='/payouts",
        "/api/v1/videos/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/creators/..%2F..%2F..%2Fetc%2Fpasswd/stats",
        "/api/v1/../../../etc/passwd",
        "/api/v1/creators/%2e%2e/%2e%2e/admin/moderation",
        "/api/v1/admin/payouts?status=requested'%20OR%201=1--",
        "/api/v1/admin/moderation?limit=1;DELETE%20FROM%20videos",
        "/api/v1/creators/99999999999999999999999/stats",
    ]
    for path in hostile_paths:
        async with api.client.get(
            URL(api.base + path, encoded=True), headers={"Authorization": f"Bearer {key}"}
        ) as response:
            body = await response.json()
            assert response.status in (404, 422), (path, response.status)
            assert _code(body) in ("not_found", "invalid_request"), path
    for url in (
        "https://youtu.be/x'; DROP TABLE videos; --",
        "https://www.youtube.com/watch?v=../../etc/passwd",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ):
        status, body, _ = await _post(api, f"/api/v1/creators/{creator.id}/videos", key, json={"url": url})
        assert (status, _code(body)) in ((422, "invalid_link"), (422, "invalid_request")), url
    async with pool.connection() as conn:
        assert (await fetch_one(conn, "SELECT count(*) AS n FROM users"))["n"] >= users_before
        assert await fetch_one(conn, "SELECT count(*) AS n FROM videos") is not None


async def test_unknown_paths_and_methods_answer_json(api):
    key = await api.key(Scope.ADMIN)
    status, body, _ = await _get(api, "/api/v1/nothing/here", key)
    assert (status, _code(body)) == (404, "not_found")
    async with api.client.delete(
        api.base + "/api/v1/admin/moderation", headers={"Authorization": f"Bearer {key}"}
    ) as response:
        body = await response.json()
        assert response.status == 405 and _code(body) == "method_not_allowed"
        assert "GET" in response.headers["Allow"]


async def test_messages_follow_accept_language(api, make_user):
    creator = await make_user()
    status, body, _ = await _get(
        api, f"/api/v1/creators/{creator.id}/stats", **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    )
    assert status == 401 and body["error"]["message"].startswith("Передайте API-ключ")
    status, body, _ = await _get(api, f"/api/v1/creators/{creator.id}/stats", **{"Accept-Language": "en-GB"})
    assert body["error"]["message"].startswith("Send your API key")


async def test_concurrent_requests_of_one_key_never_exceed_its_limit(api, make_user):
    creator = await make_user()
    key = await api.key(Scope.READ, rate_limit=10)
    results = await asyncio.gather(*(_get(api, f"/api/v1/creators/{creator.id}/stats", key) for _ in range(25)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(200) == 10 and statuses.count(429) == 15
