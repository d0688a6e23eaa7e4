"""Translation catalogues (one JSON file per language) and the `Translator` that renders keys.

A catalogue maps dotted keys ("menu.balance", "notify.payout.paid") to either a template
string or, for words that follow a number, a dict of plural forms chosen by the
``count`` parameter ("one", "few", "many", "other" -- CLDR categories; English uses
"one"/"other"). Templates use ``str.format`` fields with three extra format specs:

- ``{amount:money}``  a Decimal (or a decimal string, as messages carry them) with two
  decimals and the language's separators: ru ``1 234,50``, en ``1,234.50``;
- ``{converted:asset}`` a crypto amount (Decimal or decimal string, already rounded to
  the asset's decimals by `zenith.domain.money`) with trailing zeros dropped and the
  language's separators: ru ``10,471204``, en ``10.471204``; the asset code is a
  parameter of its own (``{converted:asset} {asset}``);
- ``{views:int}``     an integer with thousands separators;
- ``{when:date}``     an ISO timestamp/datetime shown as ``DD.MM.YYYY HH:MM`` in UTC
  (an aware time is converted; a naive one is taken as UTC), so texts say "UTC".

Texts are sent with HTML parse mode, so string parameters are HTML-escaped; a parameter
that is already markup is passed wrapped in `Markup`.
"""

from __future__ import annotations

import html
import json
import logging
import string
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).with_name("locales")
SUPPORTED_LANGUAGES: tuple[str, ...] = ("ru", "en")
FALLBACK_LANGUAGE = "ru"
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")


class Markup(str):
    """A parameter that is already safe HTML (a link, bold text): not escaped again."""


class CatalogError(ValueError):
    """A catalogue file is missing, not JSON, or holds something other than texts."""


def normalize_language(code: str | None, *, default: str = FALLBACK_LANGUAGE) -> str:
    """The supported language for a Telegram ``language_code`` ("en-US" -> "en").

    Parameters:
      code: Telegram's language_code, possibly None or with a region.
      default: returned when the code names no supported language.
    """
    if not code:
        return default
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in SUPPORTED_LANGUAGES else default


def plural_category(language: str, count: int) -> str:
    """The CLDR plural category of an integer count in `language`."""
    n = abs(int(count))
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def _flatten(prefix: str, node: Any, out: dict[str, Any], source: Path) -> None:
    if isinstance(node, str):
        out[prefix] = node
        return
    if (
        isinstance(node, dict)
        and node
        and set(node) <= set(PLURAL_CATEGORIES)
        and all(isinstance(v, str) for v in node.values())
    ):
        out[prefix] = dict(node)
        return
    if isinstance(node, dict):
        for name, child in node.items():
            _flatten(f"{prefix}.{name}" if prefix else name, child, out, source)
        return
    raise CatalogError(f"{source}: {prefix!r} is neither text nor a group of texts")


@lru_cache(maxsize=None)
def load_catalog(language: str) -> Mapping[str, Any]:
    """The flattened catalogue of `language` (nested JSON groups joined with dots)."""
    path = LOCALES_DIR / f"{language}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"no catalogue for language {language!r} at {path}") from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path} is not valid JSON: {exc}") from exc
    flat: dict[str, Any] = {}
    _flatten("", raw, flat, path)
    return flat


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


class _Formatter(string.Formatter):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        # ru uses a narrow no-break space for thousands and a comma for decimals
        self.thousands, self.decimal = ("\u202f", ",") if language == "ru" else (",", ".")

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is _BLANK:
            return "…"
        if format_spec == "money":
            amount = _to_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            sign = "-" if amount < 0 else ""
            whole, _, cents = f"{abs(amount):f}".partition(".")
            return f"{sign}{_group(whole, self.thousands)}{self.decimal}{cents or '00'}"
        if format_spec == "asset":
            amount = _to_decimal(value)
            sign = "-" if amount < 0 else ""
            whole, _, fraction = f"{abs(amount):f}".partition(".")
            fraction = fraction.rstrip("0")
            return f"{sign}{_group(whole, self.thousands)}{self.decimal + fraction if fraction else ''}"
        if format_spec == "int":
            number = int(_to_decimal(value))
            sign = "-" if number < 0 else ""
            return f"{sign}{_group(str(abs(number)), self.thousands)}"
        if format_spec == "date":
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            if moment.tzinfo is not None:
                # the database session's time zone is not ours to assume; texts say UTC
                moment = moment.astimezone(timezone.utc)
            return moment.strftime("%d.%m.%Y %H:%M")
        if isinstance(value, Markup):
            return super().format_field(str(value), format_spec)
        return html.escape(super().format_field(value, format_spec), quote=False)


_PARSER = string.Formatter()
# (literal text, field name or None, format spec, conversion or None), as str.Formatter.parse gives them
_Piece = tuple[str, str | None, str | None, str | None]


@lru_cache(maxsize=4096)
def _compile(template: str) -> tuple[_Piece, ...] | None:
    """A template split into its runs once, not at every render; None when a field is more than a
    plain name (``{a.b}``, ``{0}``, a nested spec), which `string.Formatter` renders instead.

    Raises ValueError for a malformed template, as rendering it would.
    """
    pieces = tuple(_PARSER.parse(template))
    for _, name, spec, _ in pieces:
        if name is not None and (not name.isidentifier() or "{" in (spec or "")):
            return None
    return pieces


class Translator:
    """Renders catalogue keys in one language, falling back to the fallback language.

    Parameters:
      language: one of SUPPORTED_LANGUAGES (anything else is normalised to the fallback).
    """

    def __init__(self, language: str) -> None:
        self.language = normalize_language(language)
        self._formatter = _Formatter(self.language)

    def __call__(self, key: str, /, **params: Any) -> str:
        return self.t(key, **params)

    def has(self, key: str) -> bool:
        return key in load_catalog(self.language) or key in load_catalog(FALLBACK_LANGUAGE)

    def t(self, key: str, /, **params: Any) -> str:
        """The text of `key` with `params` filled in; the key itself if no catalogue has it.

        A missing key or parameter is logged, never raised: a user always gets a message.
        """
        template = load_catalog(self.language).get(key)
        if template is None:
            template = load_catalog(FALLBACK_LANGUAGE).get(key)
        if template is None:
            logger.warning("missing translation key %r (%s)", key, self.language)
            return html.escape(key, quote=False)
        if isinstance(template, dict):
            count = params.get("count", 0)
            category = plural_category(self.language, int(_to_decimal(count)))
            template = (
                template.get(category) or template.get("other") or template.get("many") or next(iter(template.values()))
            )
        try:
            return self._render(template, params)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            logger.warning("cannot render %r (%s) with %s: %r", key, self.language, sorted(params), exc)
        try:
            return self._render(template, _Lenient(params))
        except (KeyError, IndexError, ValueError, TypeError):
            return template  # catalogue text is trusted markup

    def _render(self, template: str, params: Mapping[str, Any]) -> str:
        """``str.format`` with our format specs, from the template's runs parsed once."""
        pieces = _compile(template)
        if pieces is None:
            return self._formatter.vformat(template, (), params)
        formatter = self._formatter
        out: list[str] = []
        for literal, name, spec, conversion in pieces:
            if literal:
                out.append(literal)
            if name is not None:
                value = params[name]
                if conversion is not None:
                    value = formatter.convert_field(value, conversion)
                out.append(formatter.format_field(value, spec or ""))
        return "".join(out)


_BLANK = object()


class _Lenient(dict):
    """Parameters where a missing name renders as an ellipsis instead of failing."""

    def __missing__(self, name: str) -> object:
        return _BLANK


@lru_cache(maxsize=None)
def get_translator(language: str) -> Translator:
    """The shared Translator of a language (translators are stateless after creation)."""
    return Translator(language)


def translate(lang: str | None, key: str, /, **params: Any) -> str:
    """Render `key` in `lang` (None or unsupported: the fallback language) with `params`.

    This is what the notifications actor calls: ``translate(user.language, "notify.video.credited",
    amount="12.50", views=15300)``.
    """
    return get_translator(normalize_language(lang)).t(key, **params)
