"""Several tags in one /trend chart ("pens"): which pens the URL asks for, and their
buckets on one time grid.

The first pen is the page's tag; `?pens=B,C` adds up to MAX_PENS - 1 more. Every
pen is read from the same rollup, so their buckets share the rollup's grid; they
are merged with one factor (the one the longest pen needs) so that a chart point
is the same stretch of time for every pen and the table lists exactly the buckets
the chart draws, pen by pen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from ksys_app.domain.series import MAX_POINTS, Bucket, BucketLike, merge_buckets, merge_factor

MAX_PENS = 8  # the page's tag and up to seven more
PEN_SEPARATOR = ","
MAX_PENS_PARAM = 2_000  # longer ?pens= values are not looked at (any client can send any URL)
# Values one chart update carries: one tag's five series at MAX_POINTS (33 KB measured).
# Eight pens at 300 points each would be 49 KB before the table page, over the 50 KB
# per-update budget (PRD B14), so more pens get fewer points each.
CHART_VALUES = 5 * MAX_POINTS


def points_for(pens: int) -> int:
    """Most chart points with `pens` pens: MAX_POINTS, fewer from four pens on (8: 187)."""
    return max(2, min(MAX_POINTS, CHART_VALUES // max(1, pens)))


def pick_pens(raw: str | None, primary: str, known: Sequence[str]) -> tuple[tuple[str, ...], list[dict]]:
    """The extra pens of `?pens=` (in the order given) and notices for what was dropped,
    as messages of ksys_app/i18n/messages.py ({"key": ..., fields}).

    Unknown tags, the page's own tag, repeats and pens past MAX_PENS are dropped;
    without a tag list (it could not be read) nothing can be checked, so no pens.
    """
    if not raw:
        return (), []
    if len(raw) > MAX_PENS_PARAM:
        return (), [{"key": "notice.pens_too_long", "limit": MAX_PENS_PARAM}]
    known_set = set(known)
    pens: list[str] = []
    unknown: list[str] = []
    for name in (p.strip() for p in raw.split(PEN_SEPARATOR)):
        if not name or name == primary or name in pens:
            continue
        if name not in known_set:
            unknown.append(name)
            continue
        pens.append(name)
    notices: list[dict] = []
    if unknown:
        notices.append({"key": "notice.unknown_pens", "value": ", ".join(u[:40] for u in unknown[:3])
                        + (" …" if len(unknown) > 3 else "")})
    if len(pens) > MAX_PENS - 1:
        notices.append({"key": "notice.too_many_pens", "limit": MAX_PENS, "dropped": ", ".join(pens[MAX_PENS - 1:])})
        pens = pens[:MAX_PENS - 1]
    return tuple(pens), notices


def pens_param(pens: Iterable[str]) -> str:
    return PEN_SEPARATOR.join(pens)


@dataclass(frozen=True, slots=True)
class PenGrid:
    """Every pen's merged buckets on the chart's points."""
    starts: tuple[datetime, ...]  # ascending: the chart's points (any pen has a bucket there)
    buckets: tuple[dict[datetime, Bucket], ...]  # per pen: point start -> its bucket
    width: timedelta  # the merged bucket width
    factor: int  # source buckets per merged bucket

    def counts(self) -> list[int]:
        """Readings per point, the most any pen has there (for the partial-bucket mark)."""
        return [max((b[s].n for b in self.buckets if s in b), default=0) for s in self.starts]

    def rows_newest_first(self, tags: Sequence[str]) -> list[tuple[str, Bucket]]:
        """(tag, bucket) of every pen at every point, newest point first, pens in order:
        the history table and the CSV export."""
        return [(tag, by_start[s]) for s in reversed(self.starts)
                for tag, by_start in zip(tags, self.buckets) if s in by_start]


def merge_pens(rows_by_pen: Sequence[Sequence[BucketLike]], base: timedelta,
               max_points: int | None = None, align: bool = False) -> PenGrid:
    """Merge every pen with the factor its longest pen needs to fit `max_points`
    (default: points_for the number of pens).

    Rollup buckets of one view already share a grid. Raw readings do not (each tag
    is read at its own instants): with `align`, they are grouped into buckets of
    `base` (their spacing) on the same grid, so the pens' points coincide.
    """
    max_points = points_for(len(rows_by_pen)) if max_points is None else max_points
    factor = merge_factor(max((len(r) for r in rows_by_pen), default=0), max_points, base)
    merged = [merge_buckets(rows, base, factor=factor if (align or factor > 1) else None) for rows in rows_by_pen]
    by_start = tuple({b.bucket: b for b in m.rows} for m in merged)
    starts = tuple(sorted({s for pen in by_start for s in pen}))
    return PenGrid(starts, by_start, base * factor, factor)
