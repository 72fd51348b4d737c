"""What the fuzz tests share: bounded settings, hostile text, the secret that must never show,
and the check that a traceback did not reach an operator in disguise.

The strategies are built from pieces known to have broken parsers somewhere (control and
format characters, surrogates, non-ASCII digits, quotes, percent escapes, huge values),
mixed with plain valid values so that most examples get past the first check and reach
the code behind it.
"""

from __future__ import annotations

import os
import string

from hypothesis import settings
from hypothesis import strategies as st

# The password every generated DSN carries: no output may show it.
SECRET = "S3cretPW"

# Text a command prints when an exception escaped its own error handling: the CLI's
# catch-all (ksys_app/ops/cli/__init__.py) says "unexpected error", Python says Traceback.
ESCAPED = ("Traceback (most recent call last)", "unexpected error")


def fuzz_settings(examples: int, **kwargs) -> settings:
    """The profile of tests/conftest.py with this test's bound on examples (times KSYS_FUZZ_SCALE)."""
    scale = float(os.environ.get("KSYS_FUZZ_SCALE", "1"))
    return settings(max_examples=max(1, int(examples * scale)), **kwargs)


def escaped(text: str) -> str | None:
    """The first sign of an exception that escaped the command's own handling, or None."""
    return next((mark for mark in ESCAPED if mark in text), None)


# Characters that have broken text handling: C0/C1 controls, NUL, DEL, bidi and zero-width
# format characters, a lone surrogate, the BOM, line and paragraph separators, combining
# marks, full-width and Arabic-Indic digits, quotes, CSV/DSN/URL syntax.
NASTY_CHARS = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\r", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f",
               "\u200b", "\u200e", "\u202e", "\u2028", "\u2029", "\ufeff", "\ud800", "\udfff", "\u0301",
               "\uff11", "\u0665", "\u00e9", "\u4e2d", "\U0001f600", "'", '"', "\\", "%", "=", "&", "?", "#",
               ";", ",", "@", "/", ":", " ", "<", ">", "{", "}", "[", "]", "$", "`", "|", "+", "*"]

nasty_char = st.sampled_from(NASTY_CHARS)

# Text mixing printable ASCII with the nasty characters and arbitrary code points.
hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(string.ascii_letters + string.digits + "._-"), nasty_char,
                       st.characters(codec=None)),
    max_size=40)

# Values that are numbers to float() but not to the project's rules (ksys_app.domain.inputs).
NOT_DECIMALS = ["1_000", "\u0665", "\uff11\uff12", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e999",
                "0x10", "1,5", "", " ", "+", "-", ".", "1.2.3", "1e", "--1", "=1+2", "@SUM(A1)", "+1-1",
                "-1+1", "=cmd|' /C calc'!A0", "\t1", "1\x00", "١٢٣", "½", "²", "1\u200b"]


@st.composite
def huge_text(draw, min_size: int = 1_000, max_size: int = 20_000) -> str:
    """A long value made of a repeated hostile piece (cheap to generate, big on the wire)."""
    piece = draw(st.text(min_size=1, max_size=8) | st.sampled_from(["A", "%", "\u4e2d", "\ud800", "'"]))
    size = draw(st.integers(min_size, max_size))
    return (piece * (size // len(piece) + 1))[:size]


# JSON-like values of any shape and type (websocket payloads, meta cells, query values).
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), hostile_text, st.sampled_from(NOT_DECIMALS))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12)


def nested(depth: int, leaf=None):
    """A list nested `depth` levels deep (recursion limits of parsers and serializers)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value
