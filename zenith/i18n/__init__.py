"""Texts in Russian and English, shared by the bot and the notifications actor.

``translate(lang, key, **params)`` renders one key; ``Translator`` is the per-language
object the bot's handlers receive as ``i18n``. Keys and formats: see translator.py and
docs/bot.md ("i18n").
"""

from zenith.i18n.translator import (
    FALLBACK_LANGUAGE,
    SUPPORTED_LANGUAGES,
    CatalogError,
    Markup,
    Translator,
    get_translator,
    load_catalog,
    normalize_language,
    plural_category,
    translate,
)

__all__ = [
    "FALLBACK_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "CatalogError",
    "Markup",
    "Translator",
    "get_translator",
    "load_catalog",
    "normalize_language",
    "plural_category",
    "translate",
]
