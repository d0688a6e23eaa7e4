"""Instagram Reels and post links: every shape creators paste, and what is refused."""

from __future__ import annotations

import pytest

from zenith.domain.links import (
    LinkRejected,
    Platform,
    canonical_video_url,
    extract_links,
    is_valid_video_id,
    parse_link,
)
from zenith.domain.links import (
    LinkRejectReason as R,
)

CODE = "C8xYz1AbCdE"
PRIVATE_CODE = "C8xYz1AbCdEaBcDeFgHiJkLmNoPqRsTuVwXyZ012345"[:39]
CANONICAL = f"https://www.instagram.com/p/{CODE}/"


@pytest.mark.parametrize(
    "text, handle",
    [
        (f"https://www.instagram.com/reel/{CODE}/", None),
        (f"https://www.instagram.com/reel/{CODE}", None),
        (f"https://www.instagram.com/reel/{CODE}/?igsh=MWQ1ZGUxMzBkMA==", None),
        (f"https://www.instagram.com/reel/{CODE}/?utm_source=ig_web_copy_link", None),
        (f"https://instagram.com/reel/{CODE}/", None),
        (f"instagram.com/reel/{CODE}", None),
        (f"http://m.instagram.com/reel/{CODE}/", None),
        (f"HTTPS://WWW.INSTAGRAM.COM/reel/{CODE}/", None),
        (f"https://www.instagram.com/reels/{CODE}/", None),
        (f"https://www.instagram.com/p/{CODE}/", None),
        (f"https://www.instagram.com/p/{CODE}/?img_index=1", None),
        (f"https://www.instagram.com/tv/{CODE}/", None),
        (f"https://www.instagram.com/reel/{CODE}/embed/", None),
        (f"https://www.instagram.com/p/{CODE}/embed/captioned/", None),
        (f"https://instagr.am/p/{CODE}/", None),
        (f"https://www.instagram.com/some.creator_1/reel/{CODE}/", "some.creator_1"),
        (f"https://www.instagram.com/Some.Creator/p/{CODE}/", "some.creator"),
        (f"<https://www.instagram.com/reel/{CODE}/#comments>", None),
    ],
)
def test_reel_and_post_shapes(text, handle):
    parsed = parse_link(text)
    assert parsed.platform is Platform.INSTAGRAM
    assert parsed.video_id == CODE and not parsed.needs_resolving
    assert parsed.canonical_url == CANONICAL
    assert parsed.author_handle == handle


def test_shortcodes_keep_their_case_and_private_length():
    assert parse_link(f"https://www.instagram.com/reel/{PRIVATE_CODE}/").video_id == PRIVATE_CODE
    lower, upper = (
        parse_link("https://www.instagram.com/reel/abc_DEF-123/"),
        parse_link("https://www.instagram.com/reel/ABC_def-123/"),
    )
    assert lower.video_id != upper.video_id  # Instagram shortcodes are case-sensitive
    assert parse_link("https://www.instagram.com/p/BAbc1/").video_id == "BAbc1"  # a 2015 post


@pytest.mark.parametrize(
    "text",
    [
        "https://www.instagram.com/share/reel/BAsW3z-Tq9x/",
        "https://www.instagram.com/share/p/BBxq0aLm2Zk/",
        "https://www.instagram.com/share/_5Hq2vXyZ0a/",
    ],
)
def test_share_links_need_resolving(text):
    parsed = parse_link(text)
    assert parsed.platform is Platform.INSTAGRAM and parsed.needs_resolving and parsed.video_id is None
    assert parsed.canonical_url.startswith("https://www.instagram.com/share/") and parsed.canonical_url.endswith("/")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("https://www.instagram.com/some.creator/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/some.creator/reels/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/stories/some.creator/3312345678901234567/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/stories/reel/C8xYz1AbCdE/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/reels/audio/1234567890123456/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/explore/tags/dance/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/reels/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/", R.NOT_A_VIDEO),
        (f"https://www.instagram.com/reel/{CODE}/comments/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/share/", R.NOT_A_VIDEO),
        ("https://www.instagram.com/reel/abc/", R.BAD_VIDEO_ID),
        ("https://www.instagram.com/reel/" + "A" * 49 + "/", R.BAD_VIDEO_ID),
        ("https://www.instagram.com/reel/C8xYz1Ab%3CdE/", R.BAD_VIDEO_ID),
        ("https://instagram.com.evil.com/reel/C8xYz1AbCdE/", R.UNSUPPORTED_HOST),
        ("https://evil-instagram.com/reel/C8xYz1AbCdE/", R.UNSUPPORTED_HOST),
        ("https://l.instagram.com/?u=https%3A%2F%2Fevil.com", R.UNSUPPORTED_HOST),
        ("https://user@www.instagram.com/reel/C8xYz1AbCdE/", R.USERINFO),
        ("https://www.instagram.com:8443/reel/C8xYz1AbCdE/", R.PORT),
        ("javascript://www.instagram.com/reel/C8xYz1AbCdE/", R.BAD_SCHEME),
    ],
)
def test_refused_instagram_links_name_their_reason(text, reason):
    with pytest.raises(LinkRejected) as caught:
        parse_link(text)
    assert caught.value.reason is reason


def test_canonical_url_and_id_shape():
    assert canonical_video_url("instagram", CODE) == CANONICAL
    assert parse_link(CANONICAL).canonical_url == CANONICAL
    assert is_valid_video_id(Platform.INSTAGRAM, CODE) and not is_valid_video_id(Platform.INSTAGRAM, "ab/cd")
    assert not is_valid_video_id(Platform.TIKTOK, CODE)
    with pytest.raises(LinkRejected):
        canonical_video_url(Platform.INSTAGRAM, "no")


def test_extract_links_finds_reels_among_other_links():
    text = f"new reel: instagram.com/reel/{CODE}/ and https://youtu.be/dQw4w9WgXcQ, profile instagram.com"
    assert extract_links(text) == [f"instagram.com/reel/{CODE}/", "https://youtu.be/dQw4w9WgXcQ", "instagram.com"]
