"""What a page keeps of its reads' trust state, and what the page shows from it.

Pure functions over ReadResults: no reflex import, so they are easy to read
and test apart from the state machinery in states.base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from ksys_app.data.errors import DataError
from ksys_app.data.result import ReadResult
from ksys_app.i18n import tr, tr_error


def newest_data_time(result: ReadResult) -> datetime | None:
    """The newest reading time or bucket start among a read's rows (None without rows).

    Rows name it ts (readings), last_ts (KPI statistics), bucket (rollups) or
    last_seen (heatmap hours: the newest minute with a reading; empty hours have none).
    """
    newest = None
    for row in result.rows:
        for name in ("ts", "last_ts", "bucket", "last_seen"):
            t = getattr(row, name, None)
            if t is not None and hasattr(t, "tzinfo") and (newest is None or t > newest):
                newest = t
    return newest


def db_answered(results: Iterable[ReadResult]) -> bool:
    """Whether one of these reads got its rows from the database just now (not a cache
    hit, not stale): the server answers, whatever the last health probe said."""
    return any(r.fetched_at is not None and not (r.failed or r.stale or r.cache_hit) for r in results)


def outcome(result: ReadResult) -> dict[str, Any]:
    """What the page keeps of a read's trust state (picklable, small)."""
    err = result.error
    return {
        "failed": result.failed,
        "retryable": result.retryable,
        "code": "" if err is None else str(err.code),
        "message": "" if err is None else err.message,
        "permanent": bool(err is not None and result.failed and err.permanent),
        "fix": "" if err is None else err.fix,
        "stale": result.stale,
        "no_rows": result.no_rows or (result.ok and not result.rows),
        "fetched_at": result.fetched_at,
    }


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """The page-level view of all its parts' outcomes."""
    failed: bool  # some part's database read failed
    stale: bool  # some part shows its last good rows
    error_code: str  # of the first failed part, else of an INVALID_INPUT one, else ""
    error_message: str
    error_fix: str  # what the operator must change, for an error no retry can fix
    permanent: bool  # failed, and only a change of settings (then Retry) can help
    retry: bool  # failed, and a retry can help
    fetched_at: datetime | None  # when the oldest shown rows were read
    empty: bool  # the page's main part answered with no rows (and nothing failed)


def page_outcome(outcomes: Mapping[str, Mapping[str, Any]], main_part: str) -> PageOutcome:
    """Fold the outcomes of every part into what the page shows.

    `main_part` decides the empty state; without an outcome for it, the first part does.
    """
    failed = [o for o in outcomes.values() if o["failed"]]
    if failed:
        # a permanent error names the fix: show it before a transient one of another part
        shown = next((o for o in failed if o.get("permanent")), failed[0])
    else:
        shown = next((o for o in outcomes.values() if o["code"] == "INVALID_INPUT"), None)
    fetched = [o["fetched_at"] for o in outcomes.values() if o["fetched_at"] is not None]
    main = outcomes.get(main_part) or next(iter(outcomes.values()), None)
    return PageOutcome(
        failed=bool(failed),
        stale=any(o["stale"] for o in outcomes.values()),
        error_code=shown["code"] if shown else "",
        error_message=shown["message"] if shown else "",
        error_fix=shown.get("fix", "") if shown else "",
        permanent=bool(failed) and all(o.get("permanent") for o in failed),
        retry=any(o["retryable"] for o in failed),
        fetched_at=min(fetched) if fetched else None,
        empty=bool(main and main["no_rows"] and not failed),
    )


def payload_notice(read_warnings: Iterable[DataError], sent_bytes: int, budget: int, lang: str = "en") -> str:
    """What the page says about PAYLOAD_BLOAT, in `lang`: the warnings its reads carried
    (ReadResult.warning, each sentence once) and an update to the browser of more
    than `budget` bytes. "" when there is nothing to say."""
    messages = list(dict.fromkeys(tr_error(lang, w) for w in read_warnings if w is not None and w.message))
    if sent_bytes > budget:
        messages.append(tr(lang, "notice.payload_update", kb=sent_bytes // 1000, budget=budget // 1000))
    if not messages:
        return ""
    return tr(lang, "notice.payload", what="; ".join(messages))
