"""Structured log events (PRD B13): one JSON object per line on logger "ksys".

Every event carries the common fields {range, tag, view, rowcount, dur_ms,
cache_hit} (null when not applicable) plus its own extras. The message of the
log record is the JSON line itself, so any handler whose format is
"%(message)s" writes valid JSON lines; `configure_logging()` installs one that
also adds the time and level.

The data layer emits db_fail / db_recover / payload_bloat (and a debug-level
`query` per round trip); db_fail / db_recover also come from the health probe
(view "probe"). Pages emit dash_load_ok, range_change_ok and snapshot_refresh
(every page's live refresh, with `page` and `part`) with `log_read(event, result)`. A `*_ok` event is only ever
logged for a read that succeeded: a failed one is logged as its `*_fail`
counterpart (dash_load_fail, ...) at WARNING, with the error code, and a failed
snapshot_refresh at WARNING (`failed_event`, `log_read`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime, timezone
from typing import Any, TextIO

LOGGER_NAME = "ksys"
logger = logging.getLogger(LOGGER_NAME)

DASH_LOAD_OK = "dash_load_ok"
RANGE_CHANGE_OK = "range_change_ok"
SNAPSHOT_REFRESH = "snapshot_refresh"
DB_FAIL = "db_fail"
DB_RECOVER = "db_recover"
PAYLOAD_BLOAT = "payload_bloat"
QUERY = "query"
COMM_LOAD_OK = "comm_load_ok"
DASH_LOAD_FAIL = "dash_load_fail"
RANGE_CHANGE_FAIL = "range_change_fail"
COMM_LOAD_FAIL = "comm_load_fail"
EVENT_RATE_LIMITED = "event_rate_limited"  # a websocket connection over its event budget (eventlimit.py)
EVENT_REFUSED = "event_refused"  # a websocket frame that is not a well-formed event (eventguard.py)
EVENT_FAILED = "event_failed"  # an event handler raised (eventguard.log_backend_exception)
# operators and their alarm actions (states/auth.py, states/alarms.py)
OPERATOR_LOGIN = "operator_login"
OPERATOR_LOGOUT = "operator_logout"
ALARM_ACTION = "alarm_action"
ALARM_FILTER = "alarm_filter"

# several app workers over Redis (tabtokens.py): a tab kept its token although the worker that
# held its socket died, and Redis refusing that check or the worker's named connection
TAB_TOKEN_KEPT = "tab_token_kept"
TAB_TOKEN_CHECK_FAILED = "tab_token_check_failed"
WORKER_REDIS_NAME_FAILED = "worker_redis_name_failed"

# `ksys ingest` (ksys_app/ops/ingest): its start, a status every few seconds (rates, lag, spool),
# the first refusal of each kind (with an example), the database and broker going and coming back,
# the spool filling up (acknowledging stops) and a torn record dropped from it at start
INGEST_START = "ingest_start"
INGEST_STATUS = "ingest_status"
INGEST_REJECT = "ingest_reject"
INGEST_DB_DOWN = "ingest_db_down"
INGEST_DB_BACK = "ingest_db_back"
INGEST_BROKER_DOWN = "ingest_broker_down"
INGEST_BROKER_BACK = "ingest_broker_back"
INGEST_SPOOL_FULL = "ingest_spool_full"
INGEST_SPOOL_TORN = "ingest_spool_torn"
INGEST_SPOOL_REPLAYED = "ingest_spool_replayed"
INGEST_RULES_LOADED = "ingest_rules_loaded"
INGEST_STOP = "ingest_stop"
INGEST_EVENTS = frozenset({INGEST_START, INGEST_STATUS, INGEST_REJECT, INGEST_DB_DOWN, INGEST_DB_BACK,
                           INGEST_BROKER_DOWN, INGEST_BROKER_BACK, INGEST_SPOOL_FULL, INGEST_SPOOL_TORN,
                           INGEST_SPOOL_REPLAYED, INGEST_RULES_LOADED, INGEST_STOP})

# the event a page logs instead of an `*_ok` one when its read failed
FAILED_EVENT = {DASH_LOAD_OK: DASH_LOAD_FAIL, RANGE_CHANGE_OK: RANGE_CHANGE_FAIL, COMM_LOAD_OK: COMM_LOAD_FAIL}

EVENTS = frozenset({DASH_LOAD_OK, RANGE_CHANGE_OK, SNAPSHOT_REFRESH,
                    DB_FAIL, DB_RECOVER, PAYLOAD_BLOAT, QUERY, COMM_LOAD_OK,
                    DASH_LOAD_FAIL, RANGE_CHANGE_FAIL, COMM_LOAD_FAIL, EVENT_RATE_LIMITED, EVENT_REFUSED, EVENT_FAILED,
                    "comm_nav_prev", "comm_nav_next", "comm_recent30", "comm_cell_select",
                    OPERATOR_LOGIN, OPERATOR_LOGOUT, ALARM_ACTION, ALARM_FILTER,
                    TAB_TOKEN_KEPT, TAB_TOKEN_CHECK_FAILED, WORKER_REDIS_NAME_FAILED}) | INGEST_EVENTS

COMMON_FIELDS = ("range", "tag", "view", "rowcount", "dur_ms", "cache_hit")

_DEFAULT_LEVEL = {DB_FAIL: logging.WARNING, PAYLOAD_BLOAT: logging.WARNING, QUERY: logging.DEBUG,
                  EVENT_RATE_LIMITED: logging.WARNING, EVENT_REFUSED: logging.WARNING, EVENT_FAILED: logging.ERROR,
                  INGEST_REJECT: logging.WARNING, INGEST_DB_DOWN: logging.WARNING, INGEST_BROKER_DOWN: logging.WARNING,
                  INGEST_SPOOL_FULL: logging.ERROR, INGEST_SPOOL_TORN: logging.WARNING,
                  TAB_TOKEN_CHECK_FAILED: logging.WARNING, WORKER_REDIS_NAME_FAILED: logging.WARNING,
                  **{failed: logging.WARNING for failed in FAILED_EVENT.values()}}


def failed_event(event: str) -> str:
    """The name under which `event` is logged for a read that failed (itself when it has no `_fail` twin)."""
    return FAILED_EVENT.get(event, event)


def printable(value: Any, limit: int = 120) -> str:
    """A client-supplied value for a log line: at most `limit` characters, control characters
    as spaces, lone surrogates (which the log's UTF-8 stream cannot write) as U+FFFD."""
    text = (value if isinstance(value, str) else repr(value))[:limit]
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else (c if c.isprintable() else " ") for c in text)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if hasattr(obj, "value") and isinstance(getattr(obj, "value"), str):  # enums
        return obj.value
    return str(obj)


def event_payload(event: str, *, range: str | None = None, tag: str | None = None,
                  view: str | None = None, rowcount: int | None = None,
                  dur_ms: float | None = None, cache_hit: bool | None = None,
                  **extra: Any) -> dict[str, Any]:
    if event not in EVENTS:
        raise ValueError(f"unknown log event {event!r}")
    payload: dict[str, Any] = {"event": event, "range": range, "tag": tag, "view": view,
                               "rowcount": rowcount,
                               "dur_ms": None if dur_ms is None else round(float(dur_ms), 1),
                               "cache_hit": cache_hit}
    payload.update(extra)
    return payload


def log_event(event: str, *, level: int | None = None, **fields: Any) -> dict[str, Any]:
    """Emit one event; returns the payload (handy for tests)."""
    payload = event_payload(event, **fields)
    lvl = _DEFAULT_LEVEL.get(event, logging.INFO) if level is None else level
    if logger.isEnabledFor(lvl):
        logger.log(lvl, json.dumps(payload, default=_json_default, ensure_ascii=False),
                   extra={"ksys_event": payload})
    return payload


def log_read(event: str, result: Any, **extra: Any) -> dict[str, Any]:
    """Emit a page event from a data-layer ReadResult (its window, tag, view, rows, timing).

    A failed read turns an `*_ok` event into its `*_fail` twin, at WARNING.
    """
    error = getattr(result, "error", None)
    level = None
    if error is not None:
        extra.setdefault("error", getattr(error, "code", str(error)))
    if getattr(result, "failed", False):
        event, level = failed_event(event), logging.WARNING
        if getattr(error, "permanent", False):
            extra.setdefault("permanent", True)
    if getattr(result, "stale", False):
        extra.setdefault("stale", True)
    return log_event(
        event,
        level=level,
        range=getattr(result, "window", None),
        tag=getattr(result, "tag", None),
        view=getattr(result, "view", None),
        rowcount=len(getattr(result, "rows", ()) or ()),
        dur_ms=getattr(result, "dur_ms", None),
        cache_hit=getattr(result, "cache_hit", None),
        **extra,
    )


class JsonLineFormatter(logging.Formatter):
    """{"ts", "level", ...event fields} for events; {"ts", "level", "logger", "msg"} otherwise."""

    def format(self, record: logging.LogRecord) -> str:
        base = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname}
        payload = getattr(record, "ksys_event", None)
        if isinstance(payload, dict):
            base.update(payload)
        else:
            base.update({"logger": record.name, "msg": record.getMessage()})
            if record.exc_info:
                base["exc"] = self.formatException(record.exc_info)
        return json.dumps(base, default=_json_default, ensure_ascii=False)


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Attach one JSON-lines handler to the "ksys" logger (idempotent)."""
    for h in logger.handlers:
        if getattr(h, "_ksys_json", False):
            return h
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    handler._ksys_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
