"""Message text checks as Telegram applies them: parse_mode, length, entities.

HTML is parsed for real (allowed tags, balanced nesting, entities with UTF-16 offsets),
because a malformed tag is a common way a bot's message fails in production.
MarkdownV2 is checked only for the reserved characters that must be escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from zenith.sandbox.errors import bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^>]*)?)>|<|&(#?\w+);?")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
# Characters MarkdownV2 reserves that never start formatting in our minimal check.
_MD_RESERVED = set(".!#+-={}")


@dataclass
class FormattedText:
    """Plain text as the user sees it and the entities that style it."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> FormattedText:
    """Turn Telegram-HTML into text + entities; raise 400 like Telegram on bad markup."""
    out: list[str] = []
    offset = 0  # UTF-16 units emitted so far
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    for match in _TOKEN.finditer(source):
        chunk = source[pos : match.start()]
        out.append(chunk)
        offset += _utf16_len(chunk)
        pos = match.end()
        byte_offset = len(source[: match.start()].encode())
        closing, tag, attrs, ent = match.group(1), match.group(2), match.group(3), match.group(4)
        if ent is not None:
            raw = match.group(0)
            char = html.unescape(raw if raw.endswith(";") else raw + ";")
            if char == raw or char == raw + ";":
                raise bad_request(f'can\'t parse entities: Unsupported entity "{raw}" at byte offset {byte_offset}')
            out.append(char)
            offset += _utf16_len(char)
            continue
        if tag is None:
            raise bad_request(f"can't parse entities: Unexpected end of name token at byte offset {byte_offset}")
        tag = tag.lower()
        if tag not in _TAG_ENTITY:
            kind = "end" if closing else "start"
            raise bad_request(f'can\'t parse entities: Unsupported {kind} tag "{tag}" at byte offset {byte_offset}')
        if closing:
            if not stack or stack[-1][0] != tag:
                raise bad_request(f"can't parse entities: Unexpected end tag at byte offset {byte_offset}")
            name, start, attributes = stack.pop()
            if offset > start:
                entities.append({"type": _TAG_ENTITY[name], "offset": start, "length": offset - start, **attributes})
            continue
        extra: dict[str, Any] = {}
        if tag == "a":
            href = _HREF.search(attrs or "")
            url = next((g for g in href.groups() if g is not None), "") if href else ""
            if not url:
                raise bad_request(f"can't parse entities: Can't find attribute \"href\" at byte offset {byte_offset}")
            extra["url"] = html.unescape(url)
        stack.append((tag, offset, extra))
    out.append(source[pos:])
    if stack:
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1][0]}\"")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText(text="".join(out), entities=entities)


def check_markdown_v2(source: str) -> FormattedText:
    """Reject unescaped reserved characters; drop escapes for the plain text."""
    plain: list[str] = []
    escaped = False
    for char in source:
        if escaped:
            plain.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _MD_RESERVED:
            raise bad_request(
                f"can't parse entities: Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        elif char not in "*_~|`[]()>":
            plain.append(char)
    return FormattedText(text="".join(plain))


def format_text(source: str | None, *, parse_mode: str | None, entities: Any, caption: bool = False) -> FormattedText:
    """Apply ``parse_mode`` (or take explicit ``entities``) and check the length."""
    limit = MAX_CAPTION if caption else MAX_TEXT
    if source is None or not source.strip():
        if caption:
            return FormattedText(text="")
        raise bad_request("message text is empty")
    mode = (parse_mode or "").lower()
    if mode == "html":
        result = parse_html(source)
    elif mode == "markdownv2":
        result = check_markdown_v2(source)
    elif mode in ("", "markdown"):
        result = FormattedText(text=source, entities=list(entities or []))
    else:
        raise bad_request(f'unsupported parse_mode "{parse_mode}"')
    if not result.text.strip() and not caption:
        raise bad_request("message text is empty")
    if len(result.text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return result
