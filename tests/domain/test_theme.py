"""Which theme a browser shows: its own known choice, else the setting."""

import pytest

from ksys_app.domain.theme import other_theme, resolve_theme


@pytest.mark.parametrize("choice, default, shown", [
    ("", "light", "light"),
    ("", "dark", "dark"),
    ("dark", "light", "dark"),
    ("light", "dark", "light"),
    # whatever else localStorage holds is not trusted: it would end up in a class name
    ("Dark", "light", "light"),
    ("x onmouseover=alert(1)", "dark", "dark"),
    ("", "sepia", "light"),
])
def test_choice_wins_only_when_it_is_a_theme(choice, default, shown):
    assert resolve_theme(choice, default) == shown


def test_the_switch_offers_the_other_theme():
    assert other_theme("light") == "dark"
    assert other_theme("dark") == "light"
