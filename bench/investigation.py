"""What /trend's investigation reads cost (issue 17): an absolute range of one tag from
an hour (raw readings) to 12 months (the rollup the span calls for, domain.windows.
range_source), and eight pens over 30 days read together as the page reads them.

Through Repository as eco_ro with the cache off, like the contracts; each case timed
`runs` times after warm-up runs. The ranges end now, so they cover the loaded data's
newest part (a 12-month range over a 3-day dataset reads 3 days of rows).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from bench.common import summary_ms
from bench.contracts import NO_CACHE, settings
from ksys_app.data.repository import Repository
from ksys_app.domain.pens import MAX_PENS
from ksys_app.domain.windows import range_source

SPANS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(days=1), "7d": timedelta(days=7),
         "30d": timedelta(days=30), "90d": timedelta(days=90), "12m": timedelta(days=365)}
TARGET_ONE_TAG_MS = 100.0  # p95, server side, any range up to 12 months
TARGET_PENS_MS = 300.0  # p95, 8 pens over 30 days


async def _timed(call) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = await call()
    return time.perf_counter() - t0, out


async def measure_ranges(ro_dsn: str, tag: str, runs: int, warmup: int = 3) -> dict:
    repo = Repository(settings(ro_dsn, **NO_CACHE))
    out: dict = {"one_tag": {}, "target_one_tag_p95_ms": TARGET_ONE_TAG_MS, "target_pens_p95_ms": TARGET_PENS_MS}
    try:
        for name, span in SPANS.items():
            view = range_source(span)[0]

            def read(span=span, view=view):
                end = datetime.now(timezone.utc)
                return repo.series_range(tag, end - span, end, view)

            for _ in range(warmup):
                await read()
            times, rows, errors = [], 0, set()
            for _ in range(runs):
                s, res = await _timed(read)
                times.append(s)
                rows = len(res.rows)
                if res.error is not None and res.error.code != "NO_ROWS":
                    errors.add(res.error.code)
            out["one_tag"][name] = {"view": view, "rows": rows, "errors": sorted(errors), **summary_ms(times)}
        tags = (await repo.tags()).rows[:MAX_PENS]
        span = timedelta(days=30)
        view = range_source(span)[0]

        def read_pens():
            end = datetime.now(timezone.utc)
            return asyncio.gather(*[repo.series_range(t, end - span, end, view) for t in tags])

        for _ in range(warmup):
            await read_pens()
        times, rows = [], 0
        for _ in range(runs):
            s, results = await _timed(read_pens)
            times.append(s)
            rows = sum(len(r.rows) for r in results)
        out["pens_30d"] = {"pens": len(tags), "view": view, "rows": rows, **summary_ms(times)}
    finally:
        await repo.close()
    return out
