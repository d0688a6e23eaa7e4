"""Link parsing: every accepted shape and a table of hostile or broken inputs."""

from __future__ import annotations

import pytest

from zenith.domain.links import (
    MAX_LINK_LENGTH,
    LinkRejected,
    ParsedLink,
    Platform,
    canonical_video_url,
    extract_links,
    is_valid_video_id,
    parse_link,
    with_author,
)
from zenith.domain.links import (
    LinkRejectReason as R,
)

YT = "dQw4w9WgXcQ"
YT2 = "a_b-C9d_E-f"
YT_URL = f"https://www.youtube.com/watch?v={YT}"
TT = "7301234567890123456"
TT_URL = f"https://www.tiktok.com/@some.user_1/video/{TT}"
TT_NO_HANDLE = f"https://www.tiktok.com/@/video/{TT}"

YOUTUBE_ACCEPTED = [
    f"https://www.youtube.com/watch?v={YT}",
    f"http://www.youtube.com/watch?v={YT}",
    f"https://youtube.com/watch?v={YT}",
    f"youtube.com/watch?v={YT}",
    f"www.youtube.com/watch?v={YT}",
    f"//www.youtube.com/watch?v={YT}",
    f"https://m.youtube.com/watch?v={YT}",
    f"https://music.youtube.com/watch?v={YT}&feature=share",
    f"https://www.youtube.com/watch?v={YT}&t=42s",
    f"https://www.youtube.com/watch?t=42&v={YT}",
    f"https://www.youtube.com/watch?list=PLabc&index=3&v={YT}",
    f"https://www.youtube.com/watch?feature=youtu.be&v={YT}&list=PLx&t=1m2s",
    f"https://www.youtube.com/watch?v={YT}&v={YT}",
    f"https://www.youtube.com/watch?v={YT}#t=30",
    f"https://www.youtube.com/watch/?v={YT}",
    f"https://www.youtube.com/watch?v={YT}&amp;t=10",
    f"HTTPS://WWW.YOUTUBE.COM/watch?v={YT}",
    f"https://www.youtube.com./watch?v={YT}",
    f"https://youtu.be/{YT}",
    f"youtu.be/{YT}",
    f"http://youtu.be/{YT}/",
    f"https://youtu.be/{YT}?si=AbCdEf123&t=15",
    f"https://www.youtube.com/shorts/{YT}",
    f"https://youtube.com/shorts/{YT}?feature=share",
    f"https://m.youtube.com/shorts/{YT}/",
    f"https://www.youtube.com/embed/{YT}",
    f"https://www.youtube.com/embed/{YT}?autoplay=1",
    f"https://www.youtube.com/live/{YT}",
    f"https://www.youtube.com/live/{YT}?si=xyz",
    f"https://www.youtube.com/v/{YT}",
    f"https://www.youtube-nocookie.com/embed/{YT}",
    f"https://youtube-nocookie.com/embed/{YT}?start=5",
    f"  https://youtu.be/{YT}  ",
    f"\n\thttps://youtu.be/{YT}\n",
    f"<https://youtu.be/{YT}>",
    f" < https://youtu.be/{YT} > ",
]


@pytest.mark.parametrize("text", YOUTUBE_ACCEPTED)
def test_youtube_shapes_parse_to_the_canonical_watch_url(text):
    assert parse_link(text) == ParsedLink(
        platform=Platform.YOUTUBE, video_id=YT, canonical_url=YT_URL, needs_resolving=False, author_handle=None
    )


def test_youtube_ids_keep_case_dash_and_underscore():
    parsed = parse_link(f"youtu.be/{YT2}")
    assert parsed.video_id == YT2
    assert parsed.canonical_url == f"https://www.youtube.com/watch?v={YT2}"


TIKTOK_ACCEPTED = [
    (f"https://www.tiktok.com/@some.user_1/video/{TT}", "some.user_1"),
    (f"http://www.tiktok.com/@some.user_1/video/{TT}", "some.user_1"),
    (f"https://tiktok.com/@some.user_1/video/{TT}", "some.user_1"),
    (f"tiktok.com/@some.user_1/video/{TT}", "some.user_1"),
    (f"https://m.tiktok.com/@some.user_1/video/{TT}", "some.user_1"),
    (f"https://www.tiktok.com/@Some.User_1/video/{TT}/", "some.user_1"),
    (f"https://www.tiktok.com/@some.user_1/video/{TT}?is_from_webapp=1&sender_device=pc", "some.user_1"),
    (f"https://www.tiktok.com/@some.user_1/video/{TT}?lang=en#comments", "some.user_1"),
    (f"https://www.tiktok.com/@/video/{TT}", None),
    (f"https://m.tiktok.com/v/{TT}.html", None),
    (f"https://m.tiktok.com/v/{TT}", None),
    (f"https://www.tiktok.com/embed/v2/{TT}", None),
    (f"https://www.tiktok.com/embed/{TT}", None),
    (f"<www.tiktok.com/@some.user_1/video/{TT}>", "some.user_1"),
]


@pytest.mark.parametrize(("text", "handle"), TIKTOK_ACCEPTED)
def test_tiktok_shapes(text, handle):
    parsed = parse_link(text)
    assert parsed.platform is Platform.TIKTOK
    assert parsed.video_id == TT
    assert parsed.needs_resolving is False
    assert parsed.author_handle == handle
    assert parsed.canonical_url == (TT_URL if handle else TT_NO_HANDLE)


@pytest.mark.parametrize("digits", [15, 19, 25])
def test_tiktok_id_length_bounds_accepted(digits):
    video_id = "7" * digits
    assert parse_link(f"https://www.tiktok.com/@u/video/{video_id}").video_id == video_id


SHORT_LINKS = [
    ("https://vm.tiktok.com/ZMabc123/", "https://vm.tiktok.com/ZMabc123/"),
    ("vm.tiktok.com/ZMabc123", "https://vm.tiktok.com/ZMabc123/"),
    ("http://vt.tiktok.com/ZSx9Yq_-/", "https://vt.tiktok.com/ZSx9Yq_-/"),
    ("https://www.tiktok.com/t/ZTRabcDEF/", "https://www.tiktok.com/t/ZTRabcDEF/"),
    ("tiktok.com/t/ZTRabcDEF", "https://www.tiktok.com/t/ZTRabcDEF/"),
    ("https://vm.tiktok.com/ZMabc123/?k=1", "https://vm.tiktok.com/ZMabc123/"),
]


@pytest.mark.parametrize(("text", "canonical"), SHORT_LINKS)
def test_tiktok_short_links_need_resolving(text, canonical):
    assert parse_link(text) == ParsedLink(
        platform=Platform.TIKTOK, video_id=None, canonical_url=canonical, needs_resolving=True, author_handle=None
    )


REJECTED = [
    # empty and oversized
    ("", R.EMPTY),
    ("   \n\t ", R.EMPTY),
    ("<>", R.EMPTY),
    ("< >", R.EMPTY),
    (f"https://www.youtube.com/watch?v={YT}&x=" + "a" * MAX_LINK_LENGTH, R.TOO_LONG),
    # not URLs at all
    ("hello", R.NOT_A_URL),
    ("just some words", R.NOT_A_URL),
    (f"https://youtu.be/{YT} extra", R.NOT_A_URL),
    (f"https://you tu.be/{YT}", R.NOT_A_URL),
    (f"https://youtu.be/\x00{YT}", R.NOT_A_URL),
    (f"https://youtu.be\x00.evil.com/{YT}", R.NOT_A_URL),
    (f"https://youtu.be/{YT}\r\nSet-Cookie: a=b", R.NOT_A_URL),
    (f"https://you\u200btu.be/{YT}", R.NOT_A_URL),  # zero-width space
    (f"https://youtu.be/{YT}\u202e", R.NOT_A_URL),  # right-to-left override
    (f"https://youtu.be\u00a0/{YT}", R.NOT_A_URL),  # no-break space
    (f"https:\\\\youtu.be\\{YT}", R.NOT_A_URL),
    (f"https://evil.com\\@youtu.be/{YT}", R.NOT_A_URL),
    (f"http:youtu.be/{YT}", R.NOT_A_URL),
    (f"https:/youtu.be/{YT}", R.NOT_A_URL),
    (f"https:///youtu.be/{YT}", R.NOT_A_URL),
    ("https://", R.NOT_A_URL),
    (f"https://localhost/watch?v={YT}", R.NOT_A_URL),
    (f"https://you_tube.com/watch?v={YT}", R.NOT_A_URL),
    # schemes
    ("javascript:alert(1)", R.BAD_SCHEME),
    ("JaVaScRiPt:alert(document.cookie)//youtu.be/dQw4w9WgXcQ", R.BAD_SCHEME),
    ("data:text/html;base64,PHNjcmlwdD4=", R.BAD_SCHEME),
    ("vbscript:msgbox(1)", R.BAD_SCHEME),
    (f"ftp://youtube.com/watch?v={YT}", R.BAD_SCHEME),
    ("file:///etc/passwd", R.BAD_SCHEME),
    (f"ws://youtube.com/watch?v={YT}", R.BAD_SCHEME),
    (f"foo:youtu.be/{YT}", R.BAD_SCHEME),
    # credentials and ports
    (f"https://user@youtube.com/watch?v={YT}", R.USERINFO),
    (f"https://user:pass@youtu.be/{YT}", R.USERINFO),
    (f"https://youtube.com@evil.com/watch?v={YT}", R.USERINFO),
    (f"https://youtube.com%2F@evil.com/watch?v={YT}", R.USERINFO),
    (f"youtube.com@evil.com/watch?v={YT}", R.USERINFO),
    (f"https://www.youtube.com:443/watch?v={YT}", R.PORT),
    (f"https://www.youtube.com:8080/watch?v={YT}", R.PORT),
    (f"https://www.youtube.com:/watch?v={YT}", R.PORT),
    (f"youtube.com:80/watch?v={YT}", R.PORT),
    (f"localhost:8080/watch?v={YT}", R.PORT),
    # other hosts and lookalikes
    (f"https://example.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://youtube.com.evil.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://evil-youtube.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://youtube.co/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://youtube.com.evil/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://wwwyoutube.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://evil.com#@youtube.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://evil.com?youtube.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://evil.com/youtube.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://studio.youtube.com/video/{YT}", R.UNSUPPORTED_HOST),
    (f"https://xn--yutube-wqf.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://xn--youtube-abc.com/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://\u0443outube.com/watch?v={YT}", R.UNSUPPORTED_HOST),  # Cyrillic у
    (f"https://yout\u03bfbe.com/watch?v={YT}", R.UNSUPPORTED_HOST),  # Greek omicron
    (f"https://\uff59\uff4f\uff55\uff54\uff55\uff42\uff45.com/watch?v={YT}", R.UNSUPPORTED_HOST),  # fullwidth
    (f"https://youtube\u3002com/watch?v={YT}", R.UNSUPPORTED_HOST),  # ideographic full stop
    (f"https://youtube%2Ecom/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://[::1]/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://127.0.0.1/watch?v={YT}", R.UNSUPPORTED_HOST),
    (f"https://tiktok.com.evil.com/@u/video/{TT}", R.UNSUPPORTED_HOST),
    ("https://vm.tiktok.co/ZMabc123/", R.UNSUPPORTED_HOST),
    (f"https://eviltiktok.com/@u/video/{TT}", R.UNSUPPORTED_HOST),
    # supported hosts, but not a video
    ("https://www.youtube.com/", R.NOT_A_VIDEO),
    ("youtube.com", R.NOT_A_VIDEO),
    ("https://www.youtube.com/@SomeChannel", R.NOT_A_VIDEO),
    ("https://www.youtube.com/@SomeChannel/videos", R.NOT_A_VIDEO),
    ("https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv", R.NOT_A_VIDEO),
    ("https://www.youtube.com/c/SomeName", R.NOT_A_VIDEO),
    ("https://www.youtube.com/user/SomeName", R.NOT_A_VIDEO),
    ("https://www.youtube.com/playlist?list=PLabcdef", R.NOT_A_VIDEO),
    ("https://www.youtube.com/watch?list=PLabcdef", R.NOT_A_VIDEO),
    ("https://www.youtube.com/watch", R.NOT_A_VIDEO),
    ("https://www.youtube.com/results?search_query=cats", R.NOT_A_VIDEO),
    ("https://www.youtube.com/embed/videoseries?list=PLabcdef", R.NOT_A_VIDEO),
    ("https://www.youtube-nocookie.com/embed/videoseries?list=PLabcdef", R.NOT_A_VIDEO),
    (f"https://www.youtube.com/redirect?q=https://evil.com&v={YT}", R.NOT_A_VIDEO),
    (f"https://www.youtube.com/shorts/{YT}/extra", R.NOT_A_VIDEO),
    ("https://youtu.be/", R.NOT_A_VIDEO),
    (f"https://youtu.be/{YT}/{YT}", R.NOT_A_VIDEO),
    (f"https://www.youtube-nocookie.com/watch?v={YT}", R.NOT_A_VIDEO),
    ("https://www.tiktok.com/", R.NOT_A_VIDEO),
    ("https://www.tiktok.com/@some.user", R.NOT_A_VIDEO),
    (f"https://www.tiktok.com/@some.user/photo/{TT}", R.PHOTO_POST),
    ("https://www.tiktok.com/@some.user/video", R.NOT_A_VIDEO),
    (f"https://www.tiktok.com/@bad$handle/video/{TT}", R.NOT_A_VIDEO),
    ("https://www.tiktok.com/tag/cats", R.NOT_A_VIDEO),
    ("https://www.tiktok.com/music/some-sound-123", R.NOT_A_VIDEO),
    ("https://vm.tiktok.com/", R.NOT_A_VIDEO),
    ("https://vm.tiktok.com/ZMabc123/extra", R.NOT_A_VIDEO),
    # video ids of the wrong shape
    ("https://youtu.be/dQw4w9WgXc", R.BAD_VIDEO_ID),  # 10
    ("https://youtu.be/dQw4w9WgXcQQ", R.BAD_VIDEO_ID),  # 12
    ("https://www.youtube.com/watch?v=dQw4w9WgX$Q", R.BAD_VIDEO_ID),
    ("https://www.youtube.com/watch?v=", R.BAD_VIDEO_ID),
    (f"https://www.youtube.com/watch?v={YT}&v={YT2}", R.BAD_VIDEO_ID),
    (f"https://www.youtube.com/watch?v={YT}%20", R.BAD_VIDEO_ID),
    ("https://www.youtube.com/shorts/dQw4w9WgX%51", R.BAD_VIDEO_ID),
    ("https://www.youtube.com/embed/zQw4w9WgXc", R.BAD_VIDEO_ID),
    ("https://www.tiktok.com/@u/video/12345678901234", R.BAD_VIDEO_ID),  # 14 digits
    ("https://www.tiktok.com/@u/video/" + "1" * 26, R.BAD_VIDEO_ID),
    ("https://www.tiktok.com/@u/video/73012345678901234a", R.BAD_VIDEO_ID),
    ("https://m.tiktok.com/v/abc.html", R.BAD_VIDEO_ID),
    ("https://vm.tiktok.com/Z$/", R.BAD_VIDEO_ID),
    ("https://www.tiktok.com/t/abc/", R.BAD_VIDEO_ID),
]


@pytest.mark.parametrize(("text", "reason"), REJECTED)
def test_rejected_inputs_name_their_reason(text, reason):
    with pytest.raises(LinkRejected) as caught:
        parse_link(text)
    assert caught.value.reason is reason


def test_length_limit_is_exactly_2048_characters():
    base = f"https://www.youtube.com/watch?v={YT}&pad="
    at_limit = base + "a" * (MAX_LINK_LENGTH - len(base))
    assert len(at_limit) == MAX_LINK_LENGTH
    assert parse_link(at_limit).video_id == YT
    with pytest.raises(LinkRejected) as caught:
        parse_link(at_limit + "a")
    assert caught.value.reason is R.TOO_LONG


def test_huge_input_is_refused_quickly():
    with pytest.raises(LinkRejected) as caught:
        parse_link("youtu.be/" + "x" * 5_000_000)
    assert caught.value.reason is R.TOO_LONG


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse_link(None)  # type: ignore[arg-type]


def test_rejection_is_a_value_error_with_readable_message():
    with pytest.raises(ValueError, match="unsupported_host: example.com"):
        parse_link("https://example.com/x")


def test_canonical_video_url():
    assert canonical_video_url(Platform.YOUTUBE, YT) == YT_URL
    assert canonical_video_url("youtube", YT) == YT_URL
    assert canonical_video_url("tiktok", TT) == TT_NO_HANDLE
    assert canonical_video_url(Platform.TIKTOK, TT, author_handle="@Some.User_1") == TT_URL
    with pytest.raises(LinkRejected) as caught:
        canonical_video_url(Platform.YOUTUBE, "short")
    assert caught.value.reason is R.BAD_VIDEO_ID
    with pytest.raises(LinkRejected):
        canonical_video_url(Platform.TIKTOK, YT)
    with pytest.raises(ValueError):
        canonical_video_url("vimeo", YT)


def test_canonical_url_parses_back_to_itself():
    for text in (f"youtu.be/{YT}", f"m.tiktok.com/v/{TT}.html", f"tiktok.com/@abc/video/{TT}"):
        parsed = parse_link(text)
        assert parse_link(parsed.canonical_url) == parsed


def test_is_valid_video_id():
    assert is_valid_video_id("youtube", YT)
    assert not is_valid_video_id("youtube", TT)
    assert is_valid_video_id(Platform.TIKTOK, TT)
    assert not is_valid_video_id(Platform.TIKTOK, YT)


def test_extract_links_finds_every_candidate_in_order():
    text = (
        f"my videos: https://youtu.be/{YT}, (youtube.com/shorts/{YT2}) and\n"
        f"<https://www.tiktok.com/@me/video/{TT}>. Also vm.tiktok.com/ZMabc123! "
        "not links: e.g. hello.world, version 1.2.3, see https://example.com/page."
    )
    assert extract_links(text) == [
        f"https://youtu.be/{YT}",
        f"youtube.com/shorts/{YT2}",
        f"https://www.tiktok.com/@me/video/{TT}",
        "vm.tiktok.com/ZMabc123",
        "https://example.com/page",
    ]


def test_extract_links_keeps_bare_supported_hosts_and_drops_duplicates():
    assert extract_links(f"youtu.be/{YT} youtu.be/{YT} youtube.com") == [f"youtu.be/{YT}", "youtube.com"]


def test_extract_links_stops_at_the_limit():
    ids = [f"{i:011d}" for i in range(15)]
    text = " ".join(f"https://youtu.be/{video_id}" for video_id in ids)
    assert extract_links(text) == [f"https://youtu.be/{video_id}" for video_id in ids[:10]]
    assert len(extract_links(text, limit=3)) == 3


def test_extract_links_of_text_without_links():
    assert extract_links("") == []
    assert extract_links("hi! how do I get paid?") == []


def test_every_extracted_candidate_gets_a_verdict():
    text = f"youtu.be/{YT} https://example.com/x javascript://alert(1) youtube.com/@chan"
    verdicts = []
    for candidate in extract_links(text):
        try:
            verdicts.append(parse_link(candidate).video_id)
        except LinkRejected as rejected:
            verdicts.append(rejected.reason)
    assert verdicts == [YT, R.UNSUPPORTED_HOST, R.BAD_SCHEME, R.NOT_A_VIDEO]


def test_photo_posts_are_named_and_refused_unless_paid_for():
    with pytest.raises(LinkRejected) as caught:
        parse_link(f"https://www.tiktok.com/@Some.User/photo/{TT}?is_from_webapp=1")
    assert caught.value.reason is R.PHOTO_POST
    paid = parse_link(f"https://www.tiktok.com/@Some.User/photo/{TT}", photo_posts=True)
    assert paid.photo_post and paid.video_id == TT and paid.author_handle == "some.user"
    assert paid.canonical_url == f"https://www.tiktok.com/@some.user/photo/{TT}"
    assert parse_link(paid.canonical_url, photo_posts=True) == paid  # the stored URL parses back the same
    assert not parse_link(TT_URL, photo_posts=True).photo_post
    with pytest.raises(LinkRejected) as caught:  # a profile is still a profile
        parse_link("https://www.tiktok.com/@some.user/", photo_posts=True)
    assert caught.value.reason is R.NOT_A_VIDEO


@pytest.mark.parametrize(
    "link",
    [
        f"https://m.tiktok.com/v/{TT}.html",
        f"https://www.tiktok.com/embed/v2/{TT}",
        f"https://www.tiktok.com/@typed.name/video/{TT}",
    ],
)
def test_the_platforms_author_replaces_a_missing_or_typed_handle(link):
    shown = with_author(parse_link(link), "Real_Author")
    assert (
        shown.canonical_url == f"https://www.tiktok.com/@real_author/video/{TT}"
        and shown.author_handle == "real_author"
    )


def test_with_author_leaves_youtube_and_unusable_handles_alone():
    youtube = parse_link("https://youtu.be/dQw4w9WgXcQ")
    assert with_author(youtube, "someone") is youtube
    bare = parse_link(f"https://m.tiktok.com/v/{TT}.html")
    assert with_author(bare, None) is bare and with_author(bare, "bad handle/") is bare
    assert bare.canonical_url == TT_NO_HANDLE
    photo = parse_link(f"https://www.tiktok.com/@x/photo/{TT}", photo_posts=True)
    assert with_author(photo, "y").canonical_url == f"https://www.tiktok.com/@y/photo/{TT}"


def test_resolved_id_is_the_video_id_of_a_link_that_names_its_video():
    assert parse_link("https://youtu.be/dQw4w9WgXcQ").resolved_id == "dQw4w9WgXcQ"
    short = parse_link("https://vm.tiktok.com/ZMabc123/")
    assert short.needs_resolving and short.video_id is None
    with pytest.raises(ValueError, match="resolved first"):
        _ = short.resolved_id
