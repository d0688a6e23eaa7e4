"""The translation catalogues and the Translator (no I/O)."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest

from zenith.i18n import (
    SUPPORTED_LANGUAGES,
    Markup,
    Translator,
    load_catalog,
    normalize_language,
    plural_category,
    translate,
)


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
    [
        (1, "one"),
        (2, "few"),
        (4, "few"),
        (5, "many"),
        (11, "many"),
        (12, "many"),
        (21, "one"),
        (22, "few"),
        (111, "many"),
        (0, "many"),
    ],
)
def test_russian_plural_categories(count, expected):
    assert plural_category("ru", count) == expected


def test_plural_text_follows_count():
    assert translate("ru", "submit.accepted", count=5).startswith("Принято 5 ссылок")
    assert translate("ru", "submit.accepted", count=1).startswith("Принята 1 ссылка")
    assert translate("en", "submit.accepted", count=2).startswith("2 links")


def test_money_and_int_formats_follow_the_language():
    assert (
        translate("ru", "start.rate_line", platform="YouTube", amount=Decimal("1234.5")) == "• YouTube: 1\u202f234,50 ₽"
    )
    assert translate("en", "start.rate_line", platform="YouTube", amount="1234.5") == "• YouTube: 1,234.50 RUB"
    assert (
        translate("en", "videos.history_line", when="2024-05-01T12:30:00+00:00", views=1234567)
        == "01.05.2024 12:30 — 1,234,567"
    )


def test_asset_amounts_follow_the_language():
    # what the payouts actor sends: the stored numeric(36,18) as a decimal string
    params = {"payout_id": 7, "asset_amount": "10471.204000000000000000", "asset": "USDT"}
    assert "отправлена: 10\u202f471,204 USDT." in translate("ru", "notify.payout.paid", **params)
    assert "sent: 10,471.204 USDT." in translate("en", "notify.payout.paid", **params)
    quote = translate(
        "ru",
        "withdraw.quote",
        amount=Decimal("1000"),
        asset_amount=Decimal("10.471204"),
        asset="USDT",
        rate="95.5",
        rate_time="2024-05-01T12:30:00+00:00",
    )
    assert "1\u202f000,00 ₽</b> → <b>10,471204 USDT</b>" in quote
    assert translate(
        "en", "withdraw.created", payout_id=3, amount="500", asset_amount=Decimal("5.00000000"), asset="TON"
    ).startswith("Payout #3 requested: 500.00 RUB → 5 TON.")


def test_times_are_shown_in_utc():
    card = translate(
        "en",
        "videos.card",
        title="t",
        platform="YouTube",
        status="s",
        url="u",
        views=1,
        earned="0",
        submitted="2024-05-01T15:30:00+03:00",
    )
    assert card.endswith("Submitted: 01.05.2024 12:30 UTC")
    assert translate("ru", "balance.history_header").endswith("(время UTC)")
    assert translate("en", "videos.history_header").endswith("(UTC)")


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
    assert text.startswith("✅ Payout #7 sent: … ….")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_templates_parsed_once_render_as_str_formatter_does(language, monkeypatch):
    extra = {
        "x.escaped": ("{{literal}} {amount:money} }} {{", {"amount": Decimal("1234.5")}),
        "x.converted": ("{name!r} {name!s:>6}|", {"name": "<b>"}),
        "x.attribute": ("{item.real:int} {item}", {"item": 7}),  # not a plain name: the Formatter renders it
        "x.missing": ("{absent:money} of {amount:money}", {"amount": "2"}),
    }
    catalogue = {key: t for key, t in load_catalog(language).items() if isinstance(t, str)}
    by_spec = {"money": Decimal("-1234.567"), "asset": "0.10500", "int": 1234567, "date": "2024-05-01T12:30:00+03:00"}
    calls = {
        key: {name: by_spec.get(spec, "<i>x</i>") for _, name, spec, _ in string.Formatter().parse(t) if name}
        for key, t in catalogue.items()
    }
    catalogue |= {key: template for key, (template, _) in extra.items()}
    calls |= {key: params for key, (_, params) in extra.items()}
    monkeypatch.setattr("zenith.i18n.translator.load_catalog", lambda _language: catalogue)
    fast = Translator(language)
    # the reference: every template through string.Formatter, as before templates were kept parsed
    reference = Translator(language)
    monkeypatch.setattr(
        reference, "_render", lambda template, params: reference._formatter.vformat(template, (), params)
    )
    for key, params in calls.items():
        assert fast(key, **params) == reference(key, **params), key
    separator = "," if language == "en" else "\u202f"
    assert (
        fast("x.escaped", **extra["x.escaped"][1])
        == f"{{literal}} 1{separator}234{'.' if language == 'en' else ','}50 }} {{"
    )
    assert fast("x.converted", name="<b>") == "'&lt;b&gt;'    &lt;b&gt;|"
    assert fast("x.attribute", item=7) == "7 7"
    assert fast("x.missing", amount="2").startswith("… of 2")
