"""The sandbox's aiohttp application: the Bot API, file downloads and the control API.

Routes:
  /bot{token}/{method}        Bot API calls (GET or POST; query, form, multipart or JSON)
  /file/bot{token}/{path}     downloads of files from getFile
  /sandbox/...                the control API (see zenith.sandbox.control)
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from zenith.sandbox.control import add_control_routes
from zenith.sandbox.errors import UNAUTHORIZED, ApiError, too_many_requests
from zenith.sandbox.methods import execute
from zenith.sandbox.params import read_request
from zenith.sandbox.state import SandboxState
from zenith.sandbox.webhook import deliver_webhook_updates

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
_SERVER_ERRORS = {"500": ApiError(500, "Internal Server Error"), "502": ApiError(502, "Bad Gateway")}


class DroppedConnection(Exception):
    """A scripted "drop" fault: the connection is closed without an answer."""


def build_app(state: SandboxState, *, webhook_retry_delay: float = 0.5) -> web.Application:
    """The aiohttp application serving ``state``.

    Parameters:
      state: the sandbox's world (users, chats, updates, faults).
      webhook_retry_delay: seconds between attempts to deliver to a failing webhook.
    """
    app = web.Application(client_max_size=60 * 1024 * 1024)
    app[STATE_KEY] = state
    app.router.add_route("*", "/bot{token}/{method}", handle_api)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)
    add_control_routes(app, state)

    async def webhook_task(app: web.Application):
        task = asyncio.create_task(deliver_webhook_updates(state, retry_delay=webhook_retry_delay))
        yield
        state.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def release_pollers(app: web.Application) -> None:
        # Waiting calls return at once, so shutdown does not wait for them.
        state.close()

    app.cleanup_ctx.append(webhook_task)
    app.on_shutdown.append(release_pollers)
    return app


async def handle_api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method = request.match_info["method"]
    if request.match_info["token"] != state.token:
        return _error(UNAUTHORIZED)
    state.calls.append(method)
    fault = state.faults.take(method)
    try:
        if fault is not None:
            await _fault_before(request, fault)
        result = await execute(state, method, await read_request(request))
    except ApiError as exc:
        return _error(exc)
    except DroppedConnection:
        return web.Response(status=500)  # never reaches the client: the transport is gone
    if fault is not None and fault.kind == "drop_after":
        _drop(request)
        return web.Response(status=500)
    return web.json_response({"ok": True, "result": result})


async def handle_file(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    stored = state.files.by_path(request.match_info["path"])
    if request.match_info["token"] != state.token:
        return _error(UNAUTHORIZED)
    if stored is None:
        return _error(ApiError(404, "Not Found"))
    return web.Response(body=stored.data, content_type="application/octet-stream")


async def _fault_before(request: web.Request, fault: Any) -> None:
    if fault.kind == "429":
        raise too_many_requests(fault.retry_after)
    if fault.kind in _SERVER_ERRORS:
        raise _SERVER_ERRORS[fault.kind]
    if fault.kind == "drop":
        _drop(request)
        raise DroppedConnection()
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay)


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.payload(), status=exc.code)
