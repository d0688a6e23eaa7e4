"""What makes an update "the same" for de-duplication: a second delivery matches, other content does not."""

from __future__ import annotations

from aiogram.types import Update

from zenith.bot.middlewares.dedup import fingerprint


def _message(**changes) -> dict:
    message = {
        "message_id": 3,
        "from": {"id": 1001, "is_bot": False, "first_name": "Ann"},
        "chat": {"id": 1001, "type": "private"},
        "date": 1_700_000_000,
        "text": "/help",
    }
    message.update(changes)
    return {"update_id": 7, "message": message}


def _fingerprint(raw: dict) -> str:
    return fingerprint(Update.model_validate(raw))


def test_a_second_delivery_of_a_message_has_the_same_fingerprint():
    assert _fingerprint(_message()) == _fingerprint(_message())
    assert _fingerprint(_message()) == _fingerprint({**_message(), "update_id": 8})  # the id is the key, not content


def test_any_other_message_content_has_another_fingerprint():
    base = _fingerprint(_message())
    others = [
        _message(text="/balance"),
        _message(message_id=4),
        _message(date=1_700_000_001),
        _message(chat={"id": 1002, "type": "private"}),
        _message(**{"from": {"id": 1002, "is_bot": False, "first_name": "Ann"}}),
        _message(text=None, caption="/help", photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]),
    ]
    prints = [_fingerprint(raw) for raw in others]
    assert base not in prints
    assert len(set(prints)) == len(prints)  # and from each other


def test_callback_queries_by_their_id_and_other_updates_by_their_whole_content():
    press = {
        "update_id": 9,
        "callback_query": {
            "id": "777",
            "from": {"id": 1001, "is_bot": False, "first_name": "Ann"},
            "chat_instance": "ci",
            "data": "a",
        },
    }
    assert _fingerprint(press) == _fingerprint(press) == "c:777"
    assert _fingerprint(press) != _fingerprint({**press, "callback_query": {**press["callback_query"], "id": "778"}})
    edited = {"update_id": 10, "edited_message": {**_message()["message"], "edit_date": 1_700_000_100}}
    assert _fingerprint(edited) == _fingerprint(edited)
    assert _fingerprint(edited) != _fingerprint(
        {"update_id": 10, "edited_message": {**edited["edited_message"], "text": "/start"}}
    )
