"""A courtesy call's harmless refusal is passed over; any other error still reaches on_error."""

from __future__ import annotations

import logging

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText

from zenith.bot.handlers.errors import unless_harmless

METHOD = EditMessageText(text="page 2", chat_id=1, message_id=2)


def test_message_is_not_modified_is_passed_over(caplog):
    caplog.set_level(logging.INFO, logger="zenith.bot.handlers.errors")
    with unless_harmless():
        raise TelegramBadRequest(method=METHOD, message="Bad Request: message is not modified")
    assert any("passed over" in record.getMessage() for record in caplog.records)


def test_another_bad_request_is_raised():
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        with unless_harmless():
            raise TelegramBadRequest(method=METHOD, message="Bad Request: can't parse entities")


def test_other_errors_are_raised():
    with pytest.raises(TimeoutError):
        with unless_harmless():
            raise TimeoutError
