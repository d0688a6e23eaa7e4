"""The /api/v1 sub-application: routes from ``ENDPOINTS``, the OpenAPI document, JSON errors."""

from __future__ import annotations

import logging

import psycopg
from aiohttp import web
from psycopg_pool import PoolTimeout

from zenith.web.api.auth import RateLimiter
from zenith.web.api.context import ApiContext
from zenith.web.api.endpoints import route_handler
from zenith.web.api.errors import ApiError, error_response, request_language
from zenith.web.api.handlers import ENDPOINTS
from zenith.web.api.openapi import build_openapi

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
CONTEXT_KEY = web.AppKey("api_context", ApiContext)
UNAVAILABLE_RETRY_AFTER_SECONDS = "2"


def _as_api_error(request: web.Request, exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return ApiError("not_found")
    if exc.status == 405:
        allow = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
        return ApiError(
            "method_not_allowed", params={"method": request.method}, headers={"Allow": allow} if allow else {}
        )
    if exc.status == 413:
        return ApiError("body_too_large", params={"max": request.app[CONTEXT_KEY].settings.api_max_body_bytes})
    return ApiError("invalid_request", details=[{"field": "request", "problem": exc.reason}])


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Every refusal and failure of the API as ``{"error": {...}}`` with its stable code."""
    context = request.app[CONTEXT_KEY]
    try:
        return await handler(request)
    except ApiError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _as_api_error(request, exc)
    except (TimeoutError, PoolTimeout, psycopg.OperationalError) as exc:
        logger.warning("API %s %s unavailable: %r", request.method, request.rel_url.path, exc)
        error = ApiError("unavailable", headers={"Retry-After": UNAVAILABLE_RETRY_AFTER_SECONDS})
    except Exception:
        logger.exception("API %s %s failed", request.method, request.rel_url.path)
        error = ApiError("internal_error")
    return error_response(error, language=request_language(request, default=context.settings.default_language))


def build_api_app(context: ApiContext) -> web.Application:
    """The sub-application to mount at /api/v1 (``app.add_subapp(API_PREFIX, ...)``)."""
    app = web.Application(middlewares=[json_errors])
    app[CONTEXT_KEY] = context
    limiter = RateLimiter(redis=context.redis, prefix=context.redis_prefix)
    document = build_openapi(ENDPOINTS, server_url=API_PREFIX)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, route_handler(endpoint, context, limiter))
    return app
