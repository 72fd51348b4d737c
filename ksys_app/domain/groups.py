"""Tag groups (plant areas), the text an operator searches for, and pages of tags.

A plant of 2,000 tags cannot show a tile per tag: `/` shows one group's tiles, or
the tags in attention order a page at a time, and reads statistics only for what
it shows. A tag's group is the "group" key of its QC rule's meta (beside "unit"),
so the QC CSV that already carries the unit carries the group too, and
`ksys tags group` sets it for tags the CSV does not name.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence, TypeVar

from ksys_app.domain.inputs import InputError, preview

GROUP_KEY = "group"  # influx_qc_rule.meta key
MAX_GROUP_LEN = 40
MAX_SEARCH_LEN = 64
TILES_PER_PAGE = 24  # three screens of tiles at 800 x 480; one read of the page's tags stays small
SNAPSHOT_PAGE_ROWS = 50

T = TypeVar("T")


def _printable(value: str, what: str) -> None:
    if not value.isprintable():
        pos, ch = next((i, c) for i, c in enumerate(value) if not c.isprintable())
        raise InputError(f"{what} {preview(value)} contains the non-printable character U+{ord(ch):04X} "
                         f"at position {pos}")


def group_name(value: object) -> str:
    """1..MAX_GROUP_LEN printable characters, blanks around it removed."""
    if not isinstance(value, str):
        raise InputError(f"group must be a string, got {type(value).__name__}")
    text = value.strip()
    if not 1 <= len(text) <= MAX_GROUP_LEN:
        raise InputError(f"group must be 1..{MAX_GROUP_LEN} characters, got {len(text)}")
    _printable(text, "group")
    return text


def group_of_meta(meta: object) -> str:
    """The group recorded in a rule's meta, "" when there is none or it is not a usable name
    (a CSV may hold anything under that key; a bad one is treated as no group)."""
    if not isinstance(meta, Mapping):
        return ""
    try:
        return group_name(meta.get(GROUP_KEY))
    except InputError:
        return ""


def search_term(value: object) -> str:
    """What the snapshot search looks for: at most MAX_SEARCH_LEN printable characters,
    blanks around it removed; "" searches for nothing (every row)."""
    if not isinstance(value, str):
        raise InputError(f"search must be a string, got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_SEARCH_LEN:
        raise InputError(f"search must be at most {MAX_SEARCH_LEN} characters, got {len(text)}")
    _printable(text, "search")
    return text


def group_names(groups: Iterable[str]) -> list[str]:
    """The distinct non-empty groups, sorted case-insensitively (then exactly, for a stable order)."""
    return sorted({g for g in groups if g}, key=lambda g: (g.casefold(), g))


def tags_in_group(tags: Iterable[str], group_by_tag: Mapping[str, str], group: str) -> list[str]:
    """The tags of `group` ("" is every tag), in the order given."""
    return [t for t in tags if not group or group_by_tag.get(t, "") == group]


def page_count(total: int, size: int) -> int:
    """Pages of `size` for `total` items; an empty list still has one (empty) page."""
    return max(1, math.ceil(max(total, 0) / size))


def clamp_page(page: int, total: int, size: int) -> int:
    """A 0-based page inside 0 .. page_count - 1 (a list that shrank keeps its last page)."""
    return min(max(page, 0), page_count(total, size) - 1)


MAX_PAGE_DIGITS = 4  # ?tiles= up to 9999: 2,000 tags are 84 pages of 24


def page_param(value: object) -> int:
    """A 1-based page number from the URL (`/?tiles=3`) as a 0-based page; a page past the
    end is clamped where the list is known, so only the form is checked here."""
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= MAX_PAGE_DIGITS) or int(text) < 1:
        raise InputError(f"a page is a whole number from 1 to {10 ** MAX_PAGE_DIGITS - 1}, got {preview(text or repr(value))}")
    return int(text) - 1


def page_of(items: Sequence[T], page: int, size: int) -> list[T]:
    """The items of a 0-based page (clamped)."""
    start = clamp_page(page, len(items), size) * size
    return list(items[start:start + size])


# The most tags a picker lists at once. Every option travels to the browser with the page's
# state, and again whenever the list changes (a tag switched, a letter typed): 2,000 tag
# names are ~25 KB per list. Beyond this the filter box narrows the list.
MAX_CHOICES = 100


def filter_tags(options: Sequence[str], text: str, current: str = "", limit: int | None = None) -> list[str]:
    """The tag picker's options for its filter box: the tags whose name holds `text` (any
    case; blank text keeps them all), at most `limit` of them, with `current` first when
    it is not among them, since a select always shows its value."""
    hits = _matching(options, text)
    if limit is not None:
        hits = hits[:limit]
    return hits if not current or current in hits else [current, *hits]


def more_matching(options: Sequence[str], text: str, limit: int) -> int:
    """How many tags match `text` beyond the `limit` a picker lists."""
    return max(len(_matching(options, text)) - limit, 0)


def _matching(options: Sequence[str], text: str) -> list[str]:
    needle = text.strip().casefold()
    if not needle:
        return list(options)
    return [t for t in options if needle in t.casefold()]
