"""What a page update sends to the browser, measured, and PAYLOAD_BLOAT on the page
when it is over the budget (PRD B12, PRD.md resolutions 19 and 25)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from reflex.utils import format as rx_format

from ksys_app import logevents
from ksys_app.data.repository import get_repository
from ksys_app.data.result import ReadResult
from ksys_app.states.outcomes import payload_notice

logger = logging.getLogger(__name__)


def sent_bytes(state: Any) -> int:
    """JSON size of the state's changed frontend vars: the state update the browser
    is about to get (backend-only vars, `_x`, never travel)."""
    # Reflex's own delta (reflex.istate.delta.build_delta) sends dirty_vars &
    # _frontend_var_names (base vars and computed vars); fall back to base_vars.
    try:
        frontend = getattr(state.__class__, "_frontend_var_names", None) or frozenset(state.base_vars)
        names = sorted(state.dirty_vars & frontend)
        return len(rx_format.json_dumps({n: state.get_value(n) for n in names}).encode("utf-8"))
    except Exception:  # noqa: BLE001 - a failed measurement must not fail the page
        logger.exception("could not measure the update of %s", state.route)
        return 0


def check_payload(state: Any, data: Any, results: Mapping[str, ReadResult]) -> None:
    """Set the page's payload notice: what a read flagged (ReadResult.warning) and an
    update to the browser over the budget (logged as payload_bloat with its size).
    The rows are shown all the same (PRD.md resolution 19)."""
    reads = [r for r in (*(data.values() if isinstance(data, Mapping) else ()), *results.values())
             if isinstance(r, ReadResult)]
    budget = get_repository().setting("payload_warn_bytes")
    sent = sent_bytes(state)
    if sent > budget:
        first = next(iter(results.values()), None)
        logevents.log_event(logevents.PAYLOAD_BLOAT, range=state.window if state.uses_window else None,
                            tag=state.tag or None, view=first.view if first else None,
                            rowcount=len(first.rows) if first else 0, dur_ms=0.0,
                            cache_hit=bool(first and first.cache_hit), page=state.route,
                            bytes=sent, budget=budget, source="page_update")
    state.payload_notice = payload_notice((r.warning for r in reads if r.warning is not None), sent, budget,
                                          state._lang)
