"""Reads the pages need beyond the Repository's contracts: sampled indicators, expectations.

tech_ind_1m_mv holds one row per minute whatever the window, so a 12-month
window would be 525,600 rows per tag. The Tech page instead reads the rows
that fall on a time grid of `step` (every k-th minute, aligned like
time_bucket to 2000-01-03 UTC): one primary-key probe per grid point, LIMIT-ed,
so the read costs the same for every window. Each row is a real database row.

Both reads go through Repository.run (validation, cache, stale serving,
truncation flag, db_fail / db_recover logging) like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

from ksys_app.data import queries, validate
from ksys_app.data.repository import FEATURES as FEATURES_KIND
from ksys_app.data.repository import FEATURES_BUCKET, METRICS, TAGS, Repository, _Ctx
from ksys_app.data.result import ReadResult
from ksys_app.data.rows import FeatureRow, TechRow, feature_row, tech_row
from ksys_app.domain.windows import bucket_count
from ksys_app.domain.series import MAX_POINTS, sample_step

# Statements live in ksys_app.data.queries with every other read.
TECH_SAMPLED = queries.TECH_SAMPLED
EXPECTATIONS = queries.INGEST_EXPECTATIONS


@dataclass(frozen=True, slots=True)
class Expectation:
    tag_name: str
    exp_per_min: int

    @property
    def interval_s(self) -> float:
        """Expected seconds between two readings."""
        return 60.0 / self.exp_per_min


def _expectation(r: Mapping[str, Any]) -> Expectation:
    return Expectation(r["tag_name"], max(1, int(r["exp_per_min"] or 1)))


async def tech_sampled(repo: Repository, tag: str, window: str,
                       max_points: int = MAX_POINTS) -> tuple[ReadResult[TechRow], timedelta]:
    """Indicator rows of one tag over a window, at most max_points, and their spacing.

    Windows with no more minutes than max_points read every row through
    Repository.tech; longer ones read every k-th minute on the time grid
    (k from domain.series.sample_step). Rows ascend by bucket.
    """
    try:
        w = validate.tech(window)
        tag = validate.tag_name(tag)
    except validate.InvalidInput as exc:
        return repo._invalid(exc, window=window, tag=tag), timedelta(minutes=1)
    step = sample_step(w.duration, w.bucket, max_points)
    if step == w.bucket:
        return await repo.tech(tag, window), step
    limit = w.duration // step + 2
    result = await repo.run(TECH_SAMPLED, (tag, w.duration, step, limit + 1), kind=METRICS,
                            convert=tech_row, limit=limit, newest_first=True,
                            ctx=_Ctx(w.code, tag, w.view))
    return result, step


async def expectations(repo: Repository) -> ReadResult[Expectation]:
    """ingest_expectation rows (exp_per_min per tag); no rows is a normal state."""
    return await repo.run(EXPECTATIONS, (queries.MAX_TAGS + 1,), kind=TAGS, convert=_expectation,
                          limit=queries.MAX_TAGS, empty_is_no_rows=False,
                          ctx=_Ctx(view="ingest_expectation"))


async def features_recent(repo: Repository, tag: str, window: str,
                          max_rows: int) -> ReadResult[FeatureRow]:
    """features_5m rows of one tag over a window, at most the newest max_rows (ascending).

    The same statement as Repository.features with a smaller LIMIT: a window
    longer than max_rows five-minute buckets comes back `truncated`, holding
    its newest rows, instead of ~100k rows for 12 months.
    """
    try:
        w = validate.window(window)
        tag = validate.tag_name(tag)
    except validate.InvalidInput as exc:
        return repo._invalid(exc, window=window, tag=tag)
    limit = min(bucket_count(w.duration, FEATURES_BUCKET), max_rows)
    return await repo.run(queries.FEATURES, (tag, w.duration, limit + 1), kind=FEATURES_KIND,
                          convert=feature_row, limit=limit, newest_first=True,
                          ctx=_Ctx(w.code, tag, "features_5m"))
