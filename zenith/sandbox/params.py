"""Reading a Bot API call's parameters the ways clients send them.

The real server accepts a query string, ``application/x-www-form-urlencoded``,
``application/json`` and ``multipart/form-data``. aiogram posts form data: strings as they
are, every other value JSON-encoded (numbers, booleans, keyboards), files as multipart
parts referenced by ``attach://<name>``. So a value may arrive as a native JSON value or
as a string, and the getters below accept both.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, overload

from aiohttp import BodyPartReader, MultipartReader, web

from zenith.sandbox.errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart part."""

    filename: str
    data: bytes


@dataclass
class Params:
    """One call's parameters: ``values`` by name and multipart ``files`` by part name."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def str(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty" if name != "text" else "message text is empty")
            return default
        return value if isinstance(value, str) else json.dumps(value)

    # the methods str, int and bool shadow the builtins in this class's annotations: builtins.* below
    @overload
    def int(self, name: builtins.str, *, required: builtins.bool = False, default: builtins.int) -> builtins.int: ...
    @overload
    def int(
        self, name: builtins.str, *, required: builtins.bool = False, default: None = None
    ) -> builtins.int | None: ...
    def int(
        self, name: builtins.str, *, required: builtins.bool = False, default: builtins.int | None = None
    ) -> builtins.int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return default
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be a Number')
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a Number') from None

    def bool(self, name: builtins.str, *, default: builtins.bool = False) -> builtins.bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"true", "1"}

    def json(self, name: builtins.str) -> Any:
        """A structured value (keyboard, entities, list); ``None`` when absent."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_id(self) -> builtins.int:
        """``chat_id`` as a number; "@username" chats are not simulated."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def input_file(self, name: builtins.str) -> builtins.str | Upload | None:
        """A file parameter: an ``Upload`` (multipart, directly or via attach://) or a
        string (file_id or URL); ``None`` when absent."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if not isinstance(value, str) or not value:
            return None
        if value.startswith("attach://"):
            upload = self.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f'file "{value}" not found in the request')
            return upload
        return value


async def read_request(request: web.Request) -> Params:
    """Parameters of an incoming Bot API request, whatever its encoding."""
    params = Params(values=dict(request.query))
    if request.method != "POST" or not request.can_read_body:
        return params
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON object")
        params.values.update(body)
    elif ctype == "multipart/form-data":
        await _read_parts(await request.multipart(), params)
    elif ctype == "application/x-www-form-urlencoded":
        params.values.update(dict(await request.post()))
    return params


async def read_multipart(headers: Mapping[str, str], content: Any) -> Params:
    """Parameters from a multipart body read off a client response (a webhook's reply)."""
    params = Params()
    await _read_parts(MultipartReader(headers, content), params)
    return params


async def _read_parts(reader: MultipartReader, params: Params) -> None:
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is not None:
            params.files[part.name] = Upload(filename=part.filename, data=bytes(await part.read()))
        else:
            params.values[part.name] = await part.text()
