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

from typing import Any

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import BytesPayload, FormData

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

    def build_form_data(  # type: ignore[override]  # aiohttp posts any payload it is given
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        """The body aiogram's ``make_request`` posts: the call's parameters as a JSON object,
        or aiogram's multipart form when it uploads files.

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
            return super().build_form_data(bot, method)
        return BytesPayload(orjson.dumps(fields), content_type="application/json")
