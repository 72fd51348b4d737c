"""What a chart marks on its points: the partial newest bucket, dots, the axis format.

The rollups keep the bucket in progress (real-time aggregation), so the newest
point of a window usually stands for a few readings only (n=1 right after a
bucket starts) and sits far from its neighbours. Drawn like the others it reads
as a jump in the process; these rules say when to mark it, decided here so the
state only copies the answer into page vars.

Pure functions only: no I/O, no framework imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Sequence

from ksys_app.domain.timefmt import require_aware
from ksys_app.i18n import tr

# A newest bucket is short when it has fewer readings than the window's typical
# bucket; "typical" needs a few complete buckets to compare with.
MIN_BUCKETS_TO_COMPARE = 3
# Up to this many points a line also draws its points: a handful of points
# (a short window, raw readings) would otherwise look like a smooth signal, and
# a single point draws nothing at all without its dot.
DOTS_MAX_POINTS = 60
# The x axis is offered at most this many tick labels (axis_ticks). Recharts measures
# every label it is offered in the DOM (a forced style recalculation and layout each)
# to drop the ones that would overlap; offered all 288 points of a 24 h chart, that
# took 250-350 ms with the CPU throttled 4x (bench finding 12). 16 is what a 1440 px
# wide chart showed of all of them; narrower screens still drop some.
AXIS_TICKS_MAX = 16


@dataclass(frozen=True, slots=True)
class Partial:
    """Why the newest bucket is not complete, and what it holds."""
    n: int | None  # readings in it (None where the rows carry no count, /tech)
    in_progress: bool  # its end is after the moment the rows were read
    expected_n: float | None  # the typical n of the window's other buckets, when compared

    @property
    def note(self) -> str:
        """What the tooltip and the caption say, e.g. "partial bucket (n=1)"."""
        return self.note_in("en")

    def note_in(self, lang: str) -> str:
        if self.n is None:
            return tr(lang, "chart.partial_running")
        if self.in_progress or self.expected_n is None:
            return tr(lang, "chart.partial_n", n=self.n)
        return tr(lang, "chart.partial_n_of", n=self.n, expected=f"{self.expected_n:g}")


def newest_partial(starts: Sequence[datetime], counts: Sequence[int | None], width: timedelta,
                   as_of: datetime) -> Partial | None:
    """The newest bucket's Partial when it is not complete, else None.

    `starts` and `counts` are the buckets of one window (any order, same length),
    `width` their width (the merged width when merged), `as_of` when they were
    read. The newest bucket is partial when
      - it ends after `as_of`: it was still filling when read, whatever its n; or
      - its n is below the median n of the other buckets (at least
        MIN_BUCKETS_TO_COMPARE of them): the readings stopped inside it.
    A median, not a mean, so an outage elsewhere in the window does not lower
    the bar. Buckets without a count are judged by their end only.
    """
    if len(starts) != len(counts):
        raise ValueError(f"{len(starts)} starts but {len(counts)} counts")
    if width <= timedelta(0):
        raise ValueError(f"width must be positive, got {width}")
    require_aware(as_of, "as_of")
    if not starts:
        return None
    order = sorted(range(len(starts)), key=lambda i: require_aware(starts[i], "bucket"))
    newest = order[-1]
    n = counts[newest]
    in_progress = starts[newest] + width > as_of
    others = [counts[i] for i in order[:-1] if counts[i] is not None]
    expected = median(others) if len(others) >= MIN_BUCKETS_TO_COMPARE else None
    short = n is not None and expected is not None and n < expected
    if not (in_progress or short):
        return None
    return Partial(n, in_progress, expected if short else None)


def draws_dots(points: int, raw: bool = False) -> bool:
    """Whether a line draws its points as dots: raw readings always, else few points."""
    return raw or points <= DOTS_MAX_POINTS


def axis_format(duration: timedelta, raw: bool = False) -> str:
    """X-axis tick format of a window: "sec" (HH:mm:ss) for raw readings, "day"
    (MM-DD HH:mm) over two days, else "min" (HH:mm)."""
    if raw:
        return "sec"
    return "day" if duration > timedelta(days=2) else "min"


def axis_ticks(labels: Sequence[str], max_ticks: int = AXIS_TICKS_MAX) -> list[str]:
    """The x-axis labels offered to the chart: every k-th of `labels` (ascending),
    counted back from the newest so it always has a label, at most `max_ticks`."""
    if max_ticks < 1:
        raise ValueError(f"max_ticks must be at least 1, got {max_ticks}")
    n = len(labels)
    if n <= max_ticks:
        return list(labels)
    step = -(-n // max_ticks)  # ceil
    return list(labels[n - 1::-step][::-1])


# A line breaks where at least this many whole buckets are missing: interpolating across
# an outage would draw readings nobody took; one missing bucket (a dropout, a bucket
# merged away) is bridged.
GAP_BUCKETS = 2


def gap_after(starts: Sequence[datetime], width: timedelta, missing: int = GAP_BUCKETS) -> list[int]:
    """Indices i of ascending bucket starts after which `missing` or more buckets of
    `width` are absent (starts[i + 1] - starts[i] >= (missing + 1) x width)."""
    if width <= timedelta(0):
        raise ValueError(f"width must be positive, got {width}")
    return [i for i in range(len(starts) - 1) if starts[i + 1] - starts[i] >= (missing + 1) * width]
