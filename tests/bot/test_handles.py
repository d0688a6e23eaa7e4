"""Account handles as creators paste them, per platform (Instagram added beside TikTok and YouTube)."""

from __future__ import annotations

import pytest

from zenith.bot.handles import HandleNotUnderstood, parse_account
from zenith.domain.links import Platform


@pytest.mark.parametrize(
    "text",
    [
        "@mira.moves",
        "mira.moves",
        "Mira.Moves",
        "https://www.instagram.com/mira.moves/",
        "instagram.com/mira.moves",
        "https://instagram.com/mira.moves?igsh=MWQ1ZGUxMzBkMA==",
        "instagr.am/mira.moves",
    ],
)
def test_instagram_handles(text):
    ref = parse_account(Platform.INSTAGRAM, text)
    assert (ref.platform, ref.handle, ref.display) == (Platform.INSTAGRAM, "mira.moves", "@mira.moves")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@",
        "mira moves",
        "https://www.instagram.com/reel/C8xYz1AbCdE/",
        "https://evil.com/mira",
        ".mira",
        "mira.",
        "@" + "a" * 31,
        "tiktok.com/@mira",
        "mira/moves",
    ],
)
def test_not_instagram_handles(text):
    with pytest.raises(HandleNotUnderstood):
        parse_account(Platform.INSTAGRAM, text)
