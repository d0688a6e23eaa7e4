"""The translation catalogues and the Translator (no I/O)."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest

from zenith.i18n import Markup, SUPPORTED_LANGUAGES, Translator, load_catalog, normalize_language, plural_category, translate


def _fields(template) -> set[str]:
    texts = template.values() if isinstance(template, dict) else [template]
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_the_same_keys_and_placeholders():
    ru, en = load_catalog("ru"), load_catalog("en")
    assert set(ru) == set(en)
    for key in ru:
        assert _fields(ru[key]) == _fields(en[key]), key


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_template_renders_with_its_fields(language, caplog):
    t = Translator(language)
    for key, template in load_catalog(language).items():
        params = {name: "1" for name in _fields(template)}
        if "when" in params or "submitted" in params or "created" in params or "rate_time" in params:
            for name in ("when", "submitted", "created", "rate_time"):
                params[name] = "2024-05-01T12:30:00+00:00"
        params.setdefault("count", 1)
        text = t(key, **params)
        assert "{" not in text, (key, text)
    assert not [r for r in caplog.records if r.name == "zenith.i18n.translator"]


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "one"), (2, "few"), (4, "few"), (5, "many"), (11, "many"), (12, "many"), (21, "one"), (22, "few"), (111, "many"), (0, "many")],
)
def test_russian_plural_categories(count, expected):
    assert plural_category("ru", count) == expected


def test_plural_text_follows_count():
    assert translate("ru", "submit.accepted", count=5).startswith("Принято 5 ссылок")
    assert translate("ru", "submit.accepted", count=1).startswith("Принята 1 ссылка")
    assert translate("en", "submit.accepted", count=2).startswith("2 links")


def test_money_and_int_formats_follow_the_language():
    assert translate("ru", "start.rate_line", platform="YouTube", amount=Decimal("1234.5")) == "• YouTube: 1\u202f234,50 ₽"
    assert translate("en", "start.rate_line", platform="YouTube", amount="1234.5") == "• YouTube: 1,234.50 RUB"
    assert translate("en", "videos.history_line", when="2024-05-01T12:30:00+00:00", views=1234567) == "01.05.2024 12:30 — 1,234,567"


def test_string_parameters_are_escaped_unless_marked_up():
    assert "&lt;script&gt;" in translate("en", "notify.video.duplicate", url="<script>")
    assert "<a href='x'>v</a>" in translate("en", "notify.video.duplicate", url=Markup("<a href='x'>v</a>"))


def test_unknown_language_and_key_fall_back():
    assert normalize_language("en-US") == "en"
    assert normalize_language("de") == "ru"
    assert normalize_language(None, default="en") == "en"
    assert translate("de", "menu.help") == translate("ru", "menu.help")
    assert translate("en", "no.such.key") == "no.such.key"


def test_missing_parameter_renders_without_raising():
    text = translate("en", "notify.payout.paid", payout_id=7)
    assert text.startswith("✅ Payout #7 sent: ….")
