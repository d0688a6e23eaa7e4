"""orjson where it gives what the json module gives, the json module where it does not."""

from __future__ import annotations

import json
import math

import psycopg
import pytest

from zenith import fast_json
from zenith.platforms.errors import BadResponseError
from zenith.platforms.http_common import parse_json
from zenith.storage.db import fetch_all

SAME_AS_JSON = [
    b'{"views": 1200, "title": "\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442", "ok": true, "none": null}',
    '{"title": "Привет 😀", "list": [1, 2.5, -3e2]}',
    b'{"views": 18446744073709551615}',  # 2**64 - 1: orjson keeps it exact
    b'{"views": 1000000000000000000000000000000}',  # beyond 64 bits: json's int, not orjson's float
    b'{"a": 1, "a": 2}',  # the last key wins in both
    b"[NaN, Infinity, -Infinity]",
    b'{"id": "123456789012345678901234"}',  # a long digit run in a string: json parses it, same result
]


@pytest.mark.parametrize("text", SAME_AS_JSON)
def test_loads_gives_what_json_gives(text):
    ours, theirs = fast_json.loads(text), json.loads(text)
    assert json.dumps(ours) == json.dumps(theirs)  # NaN != NaN: compare what they write
    assert [type(v) for v in _leaves(ours)] == [type(v) for v in _leaves(theirs)]


@pytest.mark.parametrize("garbage", [b"", b"<html>", b'{"views": ', b"\xff\xfe\x00", "{'single': 'quotes'}"])
def test_garbage_raises_value_error_as_json_does(garbage):
    with pytest.raises(ValueError):
        json.loads(garbage)
    with pytest.raises(ValueError):
        fast_json.loads(garbage)


def test_dumps_writes_compact_utf8_json_and_big_integers():
    value = {"title": "Привет", "views": [1, 2], "big": 10**30, "price": 1.5}
    assert fast_json.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert fast_json.dumps({"x": math.nan}) == b'{"x":null}'  # JSON has no NaN (the documented difference)
    with pytest.raises(TypeError):
        fast_json.dumps({"x": object()})


def test_a_platform_answer_with_an_absurd_count_is_read_as_the_integer_it_is():
    body = b'{"items": [{"statistics": {"viewCount": 100000000000000000000000000000}}]}'
    views = parse_json(body, platform="youtube")["items"][0]["statistics"]["viewCount"]
    assert views == 10**29 and isinstance(views, int)
    with pytest.raises(BadResponseError):
        parse_json(b"<html>oops</html>", platform="youtube")


async def test_jsonb_columns_are_read_as_json_reads_them(database_url):
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        (row,) = await fetch_all(
            conn,
            """SELECT '{"v": 100000000000000000000000000, "t": "é", "n": 1.25}'::jsonb AS doc, '[1, 2]'::json AS plain""",
        )
    assert row["doc"] == {"v": 10**26, "t": "é", "n": 1.25} and isinstance(row["doc"]["v"], int)
    assert row["plain"] == [1, 2]


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
