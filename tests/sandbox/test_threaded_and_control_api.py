"""The sandbox in a background thread, driven through the state proxy and the control API."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from tests.sandbox.echo_bot import PHOTO
from zenith.sandbox.runner import SandboxStartError, start_sandbox
from zenith.sandbox.state import SandboxTimeout

USER = 3003


def call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def bot_api(sandbox, method: str, **params) -> tuple[int, dict]:
    return call(f"{sandbox.url}/bot{sandbox.token}/{method}", "POST", params)


def test_threaded_sandbox_and_control_api():
    with start_sandbox() as sandbox:
        status, sent = call(
            f"{sandbox.url}/sandbox/users/{USER}/send",
            "POST",
            {"text": "/start", "first_name": "Ivan", "language_code": "ru"},
        )
        assert status == 200 and sent["result"]["message"]["from"]["language_code"] == "ru"

        keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
        status, reply = bot_api(sandbox, "sendMessage", chat_id=USER, text="Pick", reply_markup=keyboard)
        assert status == 200
        message_id = reply["result"]["message_id"]

        # the blocking proxy runs the async helpers on the sandbox's loop
        assert sandbox.state.wait_for_message(USER, contains="Pick", timeout=2).message_id == message_id
        with pytest.raises(SandboxTimeout):
            sandbox.state.wait_for_message(USER, contains="never", timeout=0.2)

        status, body = call(
            f"{sandbox.url}/sandbox/users/{USER}/press", "POST", {"message_id": message_id, "callback_data": "nope"}
        )
        assert status == 400 and "no button" in body["description"]
        status, body = call(
            f"{sandbox.url}/sandbox/users/{USER}/press", "POST", {"message_id": message_id, "callback_data": "go"}
        )
        query_id = body["result"]["callback_query"]["id"]
        assert bot_api(sandbox, "answerCallbackQuery", callback_query_id=query_id, text="ok")[0] == 200
        assert bot_api(sandbox, "answerCallbackQuery", callback_query_id=query_id)[0] == 400

        status, events = call(f"{sandbox.url}/sandbox/chats/{USER}/events?after=0&timeout=1")
        assert [e["kind"] for e in events["result"]] == ["message", "callback_answer"]
        status, waited = call(f"{sandbox.url}/sandbox/chats/{USER}/wait?contains=Pick&after=0&timeout=1")
        assert waited["result"]["message_id"] == message_id
        status, _ = call(f"{sandbox.url}/sandbox/chats/{USER}/wait?contains=zzz&timeout=0.2")
        assert status == 408

        status, photo = call(
            f"{sandbox.url}/sandbox/users/{USER}/photo",
            "POST",
            {"data_base64": base64.b64encode(PHOTO).decode(), "caption": "mine"},
        )
        file_id = photo["result"]["message"]["photo"][0]["file_id"]
        with urllib.request.urlopen(f"{sandbox.url}/sandbox/files/{file_id}") as resp:
            assert resp.read() == PHOTO

        call(f"{sandbox.url}/sandbox/faults", "POST", {"method": "getMe", "kind": "429", "retry_after": 4})
        status, body = bot_api(sandbox, "getMe")
        assert (status, body["parameters"]["retry_after"]) == (429, 4)
        assert bot_api(sandbox, "getMe")[0] == 200

        call(f"{sandbox.url}/sandbox/users/{USER}/block", "POST")
        status, body = bot_api(sandbox, "sendMessage", chat_id=USER, text="x")
        assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
        status, info = call(f"{sandbox.url}/sandbox/info")
        assert info["result"]["calls"][-1] == "sendMessage"


def test_taken_port_is_a_clear_error():
    with start_sandbox() as first:
        with pytest.raises(SandboxStartError, match="cannot listen"):
            with start_sandbox(port=first.port):
                pass
