"""Telegram-HTML parsing: plain text, entity offsets in UTF-16 units, errors."""

from __future__ import annotations

import pytest

from zenith.sandbox.errors import ApiError
from zenith.sandbox.formatting import format_text, parse_html


def test_entities_count_utf16_units_and_unescape():
    parsed = parse_html('😀 <b>bold</b> &lt;x&gt; <a href="https://e.x/?a=1&amp;b=2">link</a>')
    assert parsed.text == "😀 bold <x> link"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 12, "length": 4, "url": "https://e.x/?a=1&b=2"},
    ]


@pytest.mark.parametrize(
    "source, description",
    [
        ("<b><i>x</b></i>", "Unexpected end tag"),
        ("a < b", "Unexpected end of name token"),
        ("<a>x</a>", 'Can\'t find attribute "href"'),
        ("&bogus;", "Unsupported entity"),
    ],
)
def test_malformed_html_is_rejected(source, description):
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.code == 400 and description in caught.value.description


def test_length_is_counted_after_markup():
    assert format_text("<b>" + "x" * 4096 + "</b>", parse_mode="HTML", entities=None).text == "x" * 4096
    with pytest.raises(ApiError, match="message is too long"):
        format_text("x" * 4097, parse_mode=None, entities=None)
