"""Both languages have every message, with the same fields; resolution order of the language."""

from __future__ import annotations

import re
import string

import pytest

from ksys_app.i18n import ALL_MESSAGES, LANGS, catalog, resolve_lang, tr

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# messages that are the same in both languages: codes, tag-like names, symbols
SAME_IN_BOTH = re.compile(r"^[\W\d_]*$|^(SMA|CSV|DB|KST|p\d+|n)\b")
# the language switch names the other language in that language
OTHER_LANGUAGE = {"lang.switch", "lang.switch_title"}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(ALL_MESSAGES))
def test_every_message_is_in_both_languages_with_the_same_fields(key):
    en, ko = ALL_MESSAGES[key]
    assert en.strip() and ko.strip(), key
    assert fields(en) == fields(ko), key
    # a Korean text is Korean, unless the message is a code or symbol in both
    assert HANGUL.search(ko) or SAME_IN_BOTH.search(en) or not re.search("[A-Za-z]", ko) \
        or key in OTHER_LANGUAGE, (key, ko)


def test_catalogs_are_complete_per_language():
    for lang in LANGS:
        assert catalog(lang).keys() == ALL_MESSAGES.keys()
    assert catalog("fr") == catalog("en")   # an unknown language falls back to English


def test_tr_fills_fields_and_a_missing_key_is_an_error():
    assert tr("ko", "weekday.0") == "월"
    with pytest.raises(KeyError):
        tr("en", "no.such.message")


@pytest.mark.parametrize("url, cookie, default, expect", [
    (None, None, "en", ("en", False)),
    (None, None, "ko", ("ko", False)),
    (None, "ko", "en", ("ko", False)),       # the browser's choice beats the setting
    ("en", "ko", "ko", ("en", False)),       # the URL beats both
    ("de", "ko", "en", ("ko", True)),        # an unknown ?lang= is ignored, and said
    ("", "", "en", ("en", False)),
    (None, "<script>", "en", ("en", False)),  # a cookie is input too
])
def test_language_resolution(url, cookie, default, expect):
    assert resolve_lang(url, cookie, default) == expect
