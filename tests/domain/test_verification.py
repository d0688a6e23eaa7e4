"""Account verification codes: shape, randomness, finding them in a bio."""

from __future__ import annotations

import pytest

from zenith.domain.verification import CODE_ALPHABET, InvalidCode, code_present, generate_code, is_valid_code

CODE = "ZM-7K3PQ9XA"


def test_generated_codes_have_the_documented_shape():
    codes = {generate_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert is_valid_code(code)
        assert code.startswith("ZM-") and len(code) == 11
        assert set(code[3:]) <= set(CODE_ALPHABET)


def test_alphabet_has_no_look_alikes():
    assert not set("0O1IL") & set(CODE_ALPHABET)


@pytest.mark.parametrize("code", ["ZM-7K3PQ9X", "ZM-7K3PQ9XAB", "zm-7k3pq9xa", "ZM-7K3PQ9X0", "XX-7K3PQ9XA", "", None])
def test_is_valid_code_rejects_other_shapes(code):
    assert not is_valid_code(code)


@pytest.mark.parametrize(
    "text",
    [
        CODE,
        "zm-7k3pq9xa",
        f"Creator | music | {CODE}",
        f"my code:{CODE}.",
        f"({CODE})",
        f"«{CODE}»",
        f"🔥{CODE}🔥",
        f"line one\n{CODE}\nline three",
        "ZM 7K3PQ9XA",
        "ZM7K3PQ9XA",
        "ZM_7K3PQ9XA",
        "ZM–7K3PQ9XA",  # en dash
        "ＺＭ－７Ｋ３ＰＱ９ＸＡ",  # full-width
        "𝐙𝐌-𝟕𝐊𝟑𝐏𝐐𝟗𝐗𝐀",  # styled bold letters from "fancy text" generators
    ],
)
def test_code_is_found_however_it_was_pasted(text):
    assert code_present(text, CODE)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "no code here",
        "ZM-7K3PQ9X",  # truncated
        "ZM-7K3PQ9XAB",  # inside a longer run
        "XZM-7K3PQ9XA",
        "ZM--7K3PQ9XA",
        "ZM-7K3PQ9XB",
        "ZM-  7K3PQ9XA",
        "7K3PQ9XA",
    ],
)
def test_code_is_not_found_when_it_is_not_there(text):
    assert not code_present(text, CODE)


def test_code_present_checks_the_code_itself():
    with pytest.raises(InvalidCode):
        code_present("anything", "ZM-.*")
