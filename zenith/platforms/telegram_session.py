"""The aiogram HTTP session every Bot of the project uses: JSON bodies, orjson, response models kept alive.

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
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import ClientError, ClientTimeout

_RESPONSE_MODELS: dict[Any, type[Response[Any]]] = {}
_JSON_HEADERS = {"Content-Type": "application/json"}


def dumps(value: Any) -> str:
    """``json.dumps`` for aiogram's form fields (it wants text)."""
    return orjson.dumps(value).decode()


def response_model(result_type: Any) -> type[Response[Any]]:
    """``Response[result_type]``, built once per process and kept."""
    model = _RESPONSE_MODELS.get(result_type)
    if model is None:
        model = _RESPONSE_MODELS[result_type] = Response[result_type]  # type: ignore[valid-type]
    return model


class FastSession(AiohttpSession):
    """``AiohttpSession`` with JSON bodies, orjson and kept response models; takes the same arguments."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_loads", orjson.loads)
        kwargs.setdefault("json_dumps", dumps)
        super().__init__(**kwargs)

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        response_model(method.__returning__)  # the class aiogram is about to look up stays alive
        return super().check_response(bot=bot, method=method, status_code=status_code, content=content)

    def json_body(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """The call's parameters as a JSON object, or None when it uploads files.

        The values are what aiogram would post as form fields, as native JSON (keyboards as
        objects, not as strings). A form leaves out absent and empty values and sends False
        and 0 as "false" and "0": here absent and empty ones are left out, False and 0 kept.
        """
        files: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                fields[key] = prepared
        if files:
            return None
        return orjson.dumps(fields)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:  # the errors aiogram's own make_request raises, so retries and handlers see the same
            async with session.post(
                url,
                data=body,
                headers=_JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except asyncio.TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)
