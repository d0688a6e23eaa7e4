"""The aiogram HTTP session every Bot of the project uses: JSON bodies over lean keep-alive
connections, orjson, response models kept alive.

- Bodies: aiogram posts every call as ``application/x-www-form-urlencoded``, and
  url-encoding a long text (the help, a balance with its history, Cyrillic: every byte
  quoted in Python) took about 5 % of the bot's CPU. A call without files is posted as
  ``application/json`` instead, which the Bot API accepts for every method but uploads,
  encoded by orjson; a call with files goes as aiogram sends it (multipart).
- JSON: aiogram decodes every Bot API answer and encodes every keyboard with the ``json``
  module by default; orjson does both several times faster.
- Response models: aiogram validates an answer with ``Response[T]``, a pydantic generic
  class built on first use and then held only weakly by pydantic's cache. Built inside a
  function, nothing else holds it, so each garbage collection drops it and the next call
  builds the class and its schema again (≈ 6 % of the bot's CPU under load, by py-spy).
  `FastSession` keeps one strong reference per result type.
- Sent messages: the Bot API answers a sent text with the message, its styling included
  as ``entities``; the bot never reads them back, and validating them into aiogram's models
  was most of validating the answer to /help (8 entities: 69 us against 24 us without). A
  sent message is returned without ``entities`` and ``caption_entities``.
- Transport: a call without files goes over ``keepalive_http.KeepAliveClient`` (about
  30 us of CPU per request against aiohttp's 70 us; the bot makes one call per update it
  answers); uploads go through aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import urlsplit

import certifi
import orjson
from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from pydantic import ValidationError

from zenith.platforms.keepalive_http import HttpClientError, KeepAliveClient
from zenith.telemetry import http_spans

_RESPONSE_MODELS: dict[Any, type[Response[Any]]] = {}


def dumps(value: Any) -> str:
    """``json.dumps`` for aiogram's form fields (it wants text)."""
    return orjson.dumps(value).decode()


def response_model(result_type: Any) -> type[Response[Any]]:
    """``Response[result_type]``, built once per process and kept."""
    model = _RESPONSE_MODELS.get(result_type)
    if model is None:
        model = _RESPONSE_MODELS[result_type] = Response[result_type]  # type: ignore[valid-type]
    return model


# field values model_dump would return unchanged (a plain text message has only these): its
# dump is then skipped, 17 of the 23 us a sendMessage body took
_PLAIN_VALUES = frozenset({type(None), str, int, bool, float, Default})


def _drop_entities(result: Any) -> None:
    """A sent message's styling, which the bot never reads back (the module docstring)."""
    if isinstance(result, dict) and "message_id" in result:
        result.pop("entities", None)
        result.pop("caption_entities", None)


class FastSession(AiohttpSession):
    """``AiohttpSession`` with JSON bodies on keep-alive connections, orjson and kept
    response models; takes the same arguments.

    Errors are aiogram's, as from ``AiohttpSession``: a refusal is the ``TelegramAPIError``
    for it, a timeout or a broken connection ``TelegramNetworkError``.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_loads", orjson.loads)
        kwargs.setdefault("json_dumps", dumps)
        super().__init__(**kwargs)
        self._clients: dict[str, KeepAliveClient] = {}  # per origin
        self._routes: dict[str, tuple[KeepAliveClient, str]] = {}  # per method URL: client, path
        self._ssl_context: ssl.SSLContext | None = None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:  # files: aiohttp's multipart
            return await super().make_request(bot, method, timeout)
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        client, target = self._route(url)
        try:
            with http_spans.client_call("POST", url) as call:
                status, content = await client.post(
                    target, body, content_type="application/json", timeout=self.timeout if timeout is None else timeout
                )
                call.answered(status)
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except HttpClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        response = self.check_response(
            bot=bot, method=method, status_code=status, content=content.decode("utf-8", "replace")
        )
        return cast(TelegramType, response.result)

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        model = response_model(method.__returning__)  # kept alive (the module docstring)
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError:
                data = None  # aiogram's own check raises ClientDecodeError for it
            if isinstance(data, dict) and data.get("ok") is True:
                _drop_entities(data.get("result"))
                try:
                    return model.model_validate(data, context={"bot": bot})
                except ValidationError as exc:
                    raise ClientDecodeError("Failed to deserialize object", exc, data) from exc
        # a refusal: aiogram's check turns it into its exception (retry after, bad request, ...)
        return super().check_response(bot=bot, method=method, status_code=status_code, content=content)

    def json_body(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """The call's parameters as a JSON object, or None when it uploads files.

        The values are what aiogram would post as form fields, as native JSON (keyboards as
        objects, not as strings). A form leaves out absent and empty values and sends False
        and 0 as "false" and "0": here absent and empty ones are left out, False and 0 kept.
        """
        files: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        values: dict[str, Any] = method.__dict__  # the fields' values, as pydantic keeps them
        if method.__pydantic_extra__ or not _PLAIN_VALUES.issuperset(map(type, values.values())):
            # a keyboard, a list, a date, ...: pydantic's dump turns them into what prepare_value takes
            values = method.model_dump(warnings=False)
        for key, value in values.items():
            if value is None:
                continue
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                fields[key] = prepared
        return None if files else orjson.dumps(fields)

    async def close(self) -> None:
        clients, self._clients, self._routes = list(self._clients.values()), {}, {}
        await asyncio.gather(*(client.close() for client in clients))
        await super().close()

    def _route(self, url: str) -> tuple[KeepAliveClient, str]:
        route = self._routes.get(url)
        if route is None:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            client = self._clients.get(origin)
            if client is None:
                if parts.scheme == "https" and self._ssl_context is None:
                    self._ssl_context = ssl.create_default_context(cafile=certifi.where())  # as aiogram's aiohttp
                client = self._clients[origin] = KeepAliveClient(origin, ssl_context=self._ssl_context)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            route = self._routes[url] = (client, target)
        return route
