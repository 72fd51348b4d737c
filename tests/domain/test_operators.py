"""The rules for operator names, passwords and notes (the database holds the same)."""

from __future__ import annotations

import pytest

from ksys_app.domain.inputs import InputError
from ksys_app.domain.operators import display_name, hash_password, note, operator_name, password_matches


@pytest.mark.parametrize("name", ["kim", "a", "op.night-2_b", "k" * 32])
def test_good_names(name):
    assert operator_name(name) == name


@pytest.mark.parametrize("name", ["", "Kim", "1kim", "k" * 33, "kim lee", "<script>", "kim\n", "ｋｉｍ", None, 7, ["kim"]])
def test_bad_names_are_refused_with_the_rule(name):
    with pytest.raises(InputError, match="an operator name is 1-32 characters"):
        operator_name(name)


def test_notes_are_text_bounded_and_without_control_characters():
    assert note("  <b>checked</b>\non site\t") == "<b>checked</b>\non site"
    assert note("   ") is None and note(None) is None
    for bad, why in (("x" * 1001, "at most 1000"), ("bell\x07", "control"), (5, "must be text")):
        with pytest.raises(InputError, match=why):
            note(bad)


def test_display_names_and_passwords():
    assert display_name(" Kim Min-su ") == "Kim Min-su"
    with pytest.raises(InputError):
        display_name("x" * 65)
    with pytest.raises(InputError):
        hash_password("short")
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert password_matches(stored, "a long enough password")
    assert not password_matches(stored, "a long enough passworD")
    assert not password_matches(None, "a long enough password")  # unknown operator
    assert not password_matches("not-a-hash", "x")
