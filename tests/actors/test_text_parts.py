"""Splitting an oversized notification into Telegram-sized parts at line boundaries."""

from __future__ import annotations

import pytest

from zenith.actors.notifications import CAPTION_LIMIT, TEXT_LIMIT, message_parts
from zenith.actors.text_parts import PartLimitError, split_text


def test_a_text_that_fits_is_one_part():
    assert split_text("short\ntext", limit=20) == ["short\ntext"]


def test_lines_are_kept_whole_and_nothing_is_lost():
    lines = [f"line {i:03d} " + "x" * 40 for i in range(300)]
    text = "\n".join(lines)
    parts = split_text(text, limit=TEXT_LIMIT)
    assert len(parts) == 4  # 300 lines of 49 characters, 4,096 each
    assert all(len(part) <= TEXT_LIMIT for part in parts)
    assert "\n".join(parts) == text
    assert all(part.split("\n")[0].startswith("line ") for part in parts)  # no line cut in two


def test_a_line_longer_than_the_limit_is_cut_at_spaces_or_hard():
    words = " ".join(["word"] * 30)  # 149 characters
    assert [len(p) <= 50 for p in split_text(words, limit=50)] == [True] * 3
    assert " ".join(split_text(words, limit=50)) == words
    assert split_text("a" * 25, limit=10) == ["a" * 10, "a" * 10, "a" * 5]


def test_a_photo_caption_takes_the_first_1024_and_the_rest_follows_as_messages():
    text = "\n".join(["y" * 99] * 60)  # 5,999 characters
    parts = message_parts(text, with_photo=True)
    assert len(parts[0]) <= CAPTION_LIMIT and all(len(p) <= TEXT_LIMIT for p in parts[1:])
    assert "\n".join(parts) == text
    assert message_parts("short caption", with_photo=True) == ["short caption"]


def test_a_zero_limit_is_refused():
    with pytest.raises(PartLimitError):
        split_text("x", limit=0)
