"""`t("key")`: a label in the language of the page (LangState.t), for components.

The key is checked when the page is compiled, so a label missing from the
catalogs (ksys_app/i18n) fails the build rather than showing a blank.
"""

from __future__ import annotations

from ksys_app.i18n import ALL_MESSAGES
from ksys_app.states.lang import LangState


def t(key: str):
    if key not in ALL_MESSAGES:
        raise KeyError(f"no message {key!r} in ksys_app/i18n")
    return LangState.t[key]


# Column heads of the data tables (states' *_HEADER lists, which also name the CSV
# columns and stay English there): the ones with a translation; others (sma_10,
# slope_60, ...) are names of quantities and show as they are.
_COLUMNS = {"Num.": "col.num", "TAG": "col.tag", "Time Stamp": "col.ts", "avg": "col.avg", "min": "col.min",
            "max": "col.max", "last": "col.last", "first": "col.first", "n": "col.n", "mean": "col.mean",
            "std": "col.std", "p10": "col.p10", "p90": "col.p90", "Start": "col.start", "End": "col.end",
            "Hours": "col.hours"}


def columns(header: list[str]) -> list:
    return [t(_COLUMNS[name]) if name in _COLUMNS else name for name in header]
