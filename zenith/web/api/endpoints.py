"""One declaration per endpoint: its route, scope and models; requests are parsed from it.

``Endpoint`` is the single source both of how a request is checked (``handle``) and of
what the OpenAPI document says (``openapi.py``): a path, query or body parameter exists
for the API exactly when a model declares it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, ValidationError

from zenith.domain.api_keys import Scope
from zenith.storage.api_keys import ApiKey
from zenith.web.api.auth import RateLimiter, authenticate, presented_key
from zenith.web.api.context import ApiContext
from zenith.web.api.errors import ApiError, request_language


@dataclass(frozen=True)
class Call:
    """One authenticated, validated request as a handler sees it."""

    context: ApiContext
    key: ApiKey
    language: str
    path: Any = None
    query: Any = None
    body: Any = None


Handler = Callable[[Call], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Endpoint:
    """An operation of the API.

    Parameters:
      method, path: the route, relative to /api/v1 (``{name}`` for path parameters).
      operation_id, summary: names it in the OpenAPI document.
      scope: the least scope a key needs.
      handler: ``await handler(call)`` returns the response model.
      response: the response model; ``status`` its HTTP status (default 200).
      path_model, query_model, body_model: what the request may carry.
      errors: error codes this operation may answer besides the common ones.
    """

    method: str
    path: str
    operation_id: str
    summary: str
    scope: Scope
    handler: Handler
    response: type[BaseModel]
    status: int = 200
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)


def _problems(exc: ValidationError, where: str) -> list[dict[str, str]]:
    return [
        {"field": ".".join([where, *(str(part) for part in error["loc"])]), "problem": error["msg"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _validate(model: type[BaseModel] | None, data: Any, where: str) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError("invalid_request", details=_problems(exc, where)) from None


def _query(request: web.Request) -> dict[str, str]:
    names = list(request.query.keys())
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ApiError(
            "invalid_request",
            details=[{"field": f"query.{name}", "problem": "given more than once"} for name in repeated],
        )
    return dict(request.query)


async def _body(request: web.Request, *, limit: int) -> Any:
    """The JSON body, read up to ``limit`` bytes: 413 beyond, 415 not JSON, 400 not parseable."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError("body_too_large", params={"max": limit})
    if request.content_type != "application/json":
        raise ApiError("unsupported_media_type")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > limit:  # a chunked body has no Content-Length to refuse it by
            raise ApiError("body_too_large", params={"max": limit})
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError("malformed_json") from None


def route_handler(
    endpoint: Endpoint, context: ApiContext, limiter: RateLimiter
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of ``endpoint``: key, scope, rate limit, then the request's parts, then the handler."""

    async def handle(request: web.Request) -> web.Response:
        plaintext = presented_key(request.headers.get("Authorization"), request.headers.get("X-API-Key"))
        key = await authenticate(context, plaintext, needed=endpoint.scope)
        remaining = await limiter.take(key)
        call = Call(
            context=context,
            key=key,
            language=request_language(request, default=context.settings.default_language),
            path=_validate(endpoint.path_model, dict(request.match_info), "path"),
            query=_validate(endpoint.query_model, _query(request), "query"),
            body=_validate(endpoint.body_model, await _body(request, limit=context.settings.api_max_body_bytes), "body")
            if endpoint.body_model is not None
            else None,
        )
        result = await endpoint.handler(call)
        headers = {"X-RateLimit-Limit": str(key.rate_limit_per_minute), "X-RateLimit-Remaining": str(remaining)}
        return web.json_response(text=result.model_dump_json(), status=endpoint.status, headers=headers)

    return handle
