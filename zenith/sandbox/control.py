"""The control API: lets another process act as a Telegram user and read the bot's output.

All answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "description": ...}``.

  POST /sandbox/users/{id}/send      {"text", "first_name"?, "username"?, "language_code"?}
  POST /sandbox/users/{id}/press     {"message_id", "callback_data"}  (button must exist)
  POST /sandbox/users/{id}/callback  {"message_id", "data"}           (any data: tampering)
  POST /sandbox/users/{id}/photo     {"data_base64", "caption"?}
  POST /sandbox/users/{id}/block     /unblock
  GET  /sandbox/chats/{id}/messages  the bot's messages now (after edits)
  GET  /sandbox/chats/{id}/events    ?after=SEQ&timeout=SECONDS  (long poll, may be [])
  GET  /sandbox/chats/{id}/wait      ?contains=TEXT&after=MESSAGE_ID&timeout=SECONDS
  GET  /sandbox/chats/{id}/keyboard  the reply keyboard shown, or null
  GET  /sandbox/files/{file_id}      the file's bytes
  POST /sandbox/faults               {"method", "kind", "times"?, "retry_after"?, "delay"?}
  DELETE /sandbox/faults
  POST /sandbox/rate-limits          {"per_chat"?, "overall"?, "retry_after"?} (nulls: off)
  GET  /sandbox/info                 token, bot user, webhook, pending updates, calls
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Awaitable, Callable

from aiohttp import web

from zenith.sandbox.errors import ApiError, SandboxUsageError
from zenith.sandbox.state import SandboxState, SandboxTimeout

Handler = Callable[[web.Request], Awaitable[Any]]


def add_control_routes(app: web.Application, state: SandboxState) -> None:
    def route(method: str, path: str, func: Callable[[SandboxState, web.Request], Awaitable[Any]]) -> None:
        async def handler(request: web.Request) -> web.Response:
            try:
                result = await func(state, request)
            except (SandboxUsageError, ValueError, KeyError, TypeError, binascii.Error) as exc:
                return web.json_response({"ok": False, "description": f"{type(exc).__name__}: {exc}"}, status=400)
            except ApiError as exc:
                return web.json_response(exc.payload(), status=exc.code)
            except SandboxTimeout as exc:
                return web.json_response({"ok": False, "description": str(exc)}, status=408)
            if isinstance(result, web.Response):
                return result
            return web.json_response({"ok": True, "result": result})

        app.router.add_route(method, path, handler)

    route("POST", "/sandbox/users/{user_id}/send", _send)
    route("POST", "/sandbox/users/{user_id}/press", _press)
    route("POST", "/sandbox/users/{user_id}/callback", _callback)
    route("POST", "/sandbox/users/{user_id}/photo", _photo)
    route("POST", "/sandbox/users/{user_id}/block", _block)
    route("POST", "/sandbox/users/{user_id}/unblock", _unblock)
    route("GET", "/sandbox/chats/{chat_id}/messages", _messages)
    route("GET", "/sandbox/chats/{chat_id}/events", _events)
    route("GET", "/sandbox/chats/{chat_id}/wait", _wait)
    route("GET", "/sandbox/chats/{chat_id}/keyboard", _keyboard)
    route("GET", "/sandbox/files/{file_id}", _file)
    route("POST", "/sandbox/faults", _add_fault)
    route("DELETE", "/sandbox/faults", _clear_faults)
    route("POST", "/sandbox/rate-limits", _rate_limits)
    route("GET", "/sandbox/info", _info)


async def _body(request: web.Request) -> dict[str, Any]:
    body = await request.json() if request.can_read_body else {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


async def _send(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    return state.user_sends_text(
        _id(request, "user_id"),
        str(body["text"]),
        first_name=body.get("first_name"),
        username=body.get("username"),
        language_code=body.get("language_code"),
    )


async def _press(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    return state.user_presses_button(_id(request, "user_id"), int(body["message_id"]), str(body["callback_data"]))


async def _callback(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    return state.user_sends_callback(_id(request, "user_id"), int(body["message_id"]), str(body["data"]))


async def _photo(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    data = base64.b64decode(body["data_base64"], validate=True)
    return state.user_sends_photo(_id(request, "user_id"), data, caption=body.get("caption"))


async def _block(state: SandboxState, request: web.Request) -> Any:
    state.user_blocks_bot(_id(request, "user_id"))
    return True


async def _unblock(state: SandboxState, request: web.Request) -> Any:
    state.user_unblocks_bot(_id(request, "user_id"))
    return True


async def _messages(state: SandboxState, request: web.Request) -> Any:
    return [m.as_json() for m in state.messages_for(_id(request, "chat_id"))]


async def _events(state: SandboxState, request: web.Request) -> Any:
    timeout = min(float(request.query.get("timeout", "0")), 60.0)
    events = await state.wait_for_events(
        _id(request, "chat_id"), after=int(request.query.get("after", "0")), timeout=timeout
    )
    return [e.as_json() for e in events]


async def _wait(state: SandboxState, request: web.Request) -> Any:
    after = request.query.get("after")
    message = await state.wait_for_message(
        _id(request, "chat_id"),
        contains=request.query.get("contains"),
        timeout=min(float(request.query.get("timeout", "10")), 60.0),
        after=int(after) if after else None,
    )
    return message.as_json()


async def _keyboard(state: SandboxState, request: web.Request) -> Any:
    return state.reply_keyboard(_id(request, "chat_id"))


async def _file(state: SandboxState, request: web.Request) -> Any:
    stored = state.files.get(request.match_info["file_id"])
    return web.Response(body=stored.data, content_type="application/octet-stream")


async def _add_fault(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    state.faults.fail_next(
        str(body["method"]),
        kind=str(body.get("kind", "500")),
        times=int(body.get("times", 1)),
        retry_after=int(body.get("retry_after", 1)),
        delay=float(body.get("delay", 0)),
    )
    return state.faults.pending()


async def _clear_faults(state: SandboxState, request: web.Request) -> Any:
    state.faults.clear()
    return True


async def _rate_limits(state: SandboxState, request: web.Request) -> Any:
    body = await _body(request)
    state.rate_limits.configure(
        per_chat=body.get("per_chat"), overall=body.get("overall"), retry_after=body.get("retry_after")
    )
    return True


async def _info(state: SandboxState, request: web.Request) -> Any:
    hook = state.updates.webhook
    return {
        "token": state.token,
        "bot": state.bot_user,
        "webhook": hook.url if hook else None,
        "pending_updates": len(state.updates.pending),
        "calls": state.calls[-200:],
    }
