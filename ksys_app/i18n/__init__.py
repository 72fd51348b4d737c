"""Korean and English: every label, message and format the pages show, in both.

The catalogs are plain dicts of message id -> (English, Korean), one module per
area (ui: what components render; messages: what the states compose; formats:
weekday names and the like). `tr(lang, key, **fields)` formats one message with
str.format fields; `catalog(lang)` is what the browser gets (LangState.t) so a
component can render `t["nav.trend"]` without a round trip per label.

English is the fallback for a language not known here; a key missing from the
catalogs is a bug and raises (tests/domain/test_i18n.py checks that both
languages have every key, with the same {fields}).
"""

from __future__ import annotations

from functools import cache
from typing import Mapping

from ksys_app.i18n import formats, messages, ui

LANGS = ("en", "ko")
DEFAULT_LANG = "en"
LANG_NAMES = {"en": "English", "ko": "한국어"}

CATALOGS: tuple[Mapping[str, tuple[str, str]], ...] = (ui.MESSAGES, messages.MESSAGES, formats.MESSAGES)


def _merged() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for part in CATALOGS:
        clash = merged.keys() & part.keys()
        if clash:
            raise ValueError(f"message ids defined twice: {sorted(clash)}")
        merged.update(part)
    return merged


ALL_MESSAGES = _merged()


def known_lang(lang: str) -> str:
    """`lang` when it is one of LANGS, else English."""
    return lang if lang in LANGS else DEFAULT_LANG


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every message of one language, by id (unformatted: fields stay as {name})."""
    i = LANGS.index(known_lang(lang))
    return {key: texts[i] for key, texts in ALL_MESSAGES.items()}


def tr(lang: str, key: str, **fields: object) -> str:
    """One message in `lang`, its {fields} filled in."""
    text = catalog(lang)[key]
    return text.format(**fields) if fields else text


def tr_known(lang: str, text: str) -> str:
    """A fixed sentence of the data layer (messages.KNOWN) in `lang`; any other text as it is."""
    key = messages.KNOWN.get(text)
    return tr(lang, key) if key else text


def tr_error(lang: str, error) -> str:
    """A DataError's sentence in `lang`: by its message id when it has one (a sentence
    with values), else as a fixed sentence (tr_known)."""
    if error.key:
        return tr(lang, error.key, **dict(error.fields))
    return tr_known(lang, error.message)


def resolve_lang(url_value: str | None, cookie_value: str | None, default: str) -> tuple[str, bool]:
    """The language a page shows: ?lang= first, then the browser's cookie, then the setting.

    Returns (lang, url_was_bad): a ?lang= value that is not a known language is
    ignored (the page says so) rather than trusted.
    """
    if url_value:
        if url_value in LANGS:
            return url_value, False
        return resolve_lang(None, cookie_value, default)[0], True
    if cookie_value in LANGS:
        return str(cookie_value), False
    return known_lang(default), False
