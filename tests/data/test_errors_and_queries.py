"""Error mapping, retry schedule, the SQL catalogue and the JSON log lines (no database)."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import logging
import re
from pathlib import Path

import asyncpg
import pytest

from ksys_app import logevents
from ksys_app.data import queries
from ksys_app.data.errors import RETRY_SCHEDULE_S, ErrorCode, classify, retry_delay_s
from ksys_app.domain.windows import WINDOW_CODES, parse_window, tech_window

DATA_DIR = Path(__file__).resolve().parents[2] / "ksys_app" / "data"


def test_retry_schedule():
    assert RETRY_SCHEDULE_S == (1, 2, 4, 8)
    assert [retry_delay_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 8, 8, 8]
    with pytest.raises(ValueError):
        retry_delay_s(0)


@pytest.mark.parametrize("exc, phase, code", [
    (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), "query", "DB_TIMEOUT"),
    (asyncio.TimeoutError(), "query", "DB_TIMEOUT"),
    (asyncio.TimeoutError(), "connect", "DB_CONN"),
    (ConnectionRefusedError(111, "Connection refused"), "connect", "DB_CONN"),
    (OSError("Network is unreachable"), "connect", "DB_CONN"),
    (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), "query", "DB_CONN"),
    (asyncpg.CannotConnectNowError("the database system is starting up"), "connect", "DB_CONN"),
    (asyncpg.AdminShutdownError("terminating connection due to administrator command"), "query", "DB_CONN"),
    (asyncpg.InterfaceError("connection is closed"), "query", "DB_CONN"),
    (asyncpg.UndefinedTableError('relation "influx_latest" does not exist'), "query", "SCHEMA_DRIFT"),
    (asyncpg.UndefinedColumnError('column "slope_60" does not exist'), "query", "SCHEMA_DRIFT"),
    (asyncpg.InsufficientPrivilegeError("permission denied for table x"), "query", "SCHEMA_DRIFT"),
    (asyncpg.DivisionByZeroError("division by zero"), "query", "DB_ERROR"),
])
def test_classify(exc, phase, code):
    err = classify(exc, phase)
    assert err.code == code
    assert err.message and "\n" not in err.message
    assert err.retryable == (code in ("DB_TIMEOUT", "DB_CONN"))
    assert not err.permanent and not err.fix


@pytest.mark.parametrize("exc, phase, code, fix", [
    (asyncpg.InvalidPasswordError('password authentication failed for user "eco_ro"'), "connect", "DB_CONN",
     "password in TS_DSN"),
    (asyncpg.InvalidAuthorizationSpecificationError('role "eco_rx" does not exist'), "connect", "DB_CONN",
     "user in TS_DSN"),
    (asyncpg.InvalidAuthorizationSpecificationError("no pg_hba.conf entry for host"), "connect", "DB_CONN",
     "pg_hba.conf"),
    (asyncpg.InvalidCatalogNameError('database "ecoanq" does not exist'), "connect", "DB_CONN",
     "database name in TS_DSN"),
    (asyncpg.InsufficientPrivilegeError('permission denied for database "ecoanp"'), "connect", "DB_CONN",
     "GRANT CONNECT"),
    (asyncpg.exceptions.ClientConfigurationError("`sslmode` parameter must be one of ..."), "connect", "CONFIG",
     ".env"),
])
def test_permanent_errors_name_their_fix_and_are_not_retried(exc, phase, code, fix):
    err = classify(exc, phase)
    assert err.code == code and err.permanent and not err.retryable
    assert fix in err.fix and "\n" not in err.message


@pytest.mark.parametrize("exc, phase", [
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 56620)"), "connect"),
    (asyncpg.InvalidPasswordError('password authentication failed for user "eco_ro"'), "connect"),
    (asyncpg.UndefinedTableError('relation "public.influx_latest" does not exist'), "query"),
    (asyncpg.DivisionByZeroError("division by zero in SELECT value / 0 FROM secret_table"), "query"),
    (asyncpg.exceptions.ClientConfigurationError("host=db.internal.plant sslmode=bogus"), "connect"),
    (RuntimeError("unexpected: 10.1.2.3:5432"), "query"),
])
def test_what_a_page_visitor_reads_holds_no_driver_text(exc, phase):
    """Hosts, ports, role and relation names go to the log (detail), never into the message
    the pages show."""
    err = classify(exc, phase)
    driver = str(exc)
    assert err.detail and err.detail.endswith(driver.splitlines()[0])
    for leak in ("127.0.0.1", "56620", "eco_ro", "influx_latest", "secret_table", "db.internal", "10.1.2.3"):
        if leak in driver:
            assert leak not in err.message and leak not in err.fix, (leak, err)


def test_a_failed_load_is_never_logged_as_ok(caplog):
    from ksys_app.data.errors import DataError
    from ksys_app.data.result import ReadResult

    caplog.set_level(logging.INFO, logger="ksys")
    ok = logevents.log_read("dash_load_ok", ReadResult(rows=(1,), window="5m"))
    assert ok["event"] == "dash_load_ok" and "error" not in ok
    down = DataError(ErrorCode.DB_CONN, "cannot log in: password authentication failed", permanent=True, fix="x")
    for event, failed in (("dash_load_ok", "dash_load_fail"), ("range_change_ok", "range_change_fail"),
                          ("comm_load_ok", "comm_load_fail"), ("snapshot_refresh", "snapshot_refresh")):
        caplog.clear()
        payload = logevents.log_read(event, ReadResult(error=down, window="5m"))
        assert payload["event"] == failed and payload["error"] == "DB_CONN" and payload["permanent"] is True
        assert [r.levelno for r in caplog.records] == [logging.WARNING]
    no_rows = logevents.log_read("dash_load_ok", ReadResult(error=DataError(ErrorCode.NO_ROWS, "none")))
    assert no_rows["event"] == "dash_load_ok"  # the database answered: the load worked


def test_every_window_has_whitelisted_sql():
    for code in WINDOW_CODES:
        view = parse_window(code).view
        assert view in queries.SERIES_BY_VIEW and view in queries.KPI_BY_VIEW
        assert tech_window(code).view == "tech_ind_1m_mv"
    assert set(queries.SERIES_BY_VIEW) == set(queries.ROLLUP_VIEWS)


def all_queries() -> list[queries.Query]:
    found = [v for v in vars(queries).values() if isinstance(v, queries.Query)]
    found += list(queries.SERIES_BY_VIEW.values()) + list(queries.KPI_BY_VIEW.values())
    found += list(queries.SERIES_RANGE_BY_VIEW.values()) + list(queries.KPI_TAGS_BY_VIEW.values())
    return found


ORIGIN_LITERAL = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"  # the one fixed literal (bucket origin)
SQL_RE = re.compile(r"\bSELECT\b.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w|\bDELETE\s+FROM\b",
                    re.IGNORECASE | re.DOTALL)


def test_every_statement_is_parameterized_and_limited():
    names = set()
    for q in all_queries():
        assert q.name not in names
        names.add(q.name)
        text = q.sql.upper()
        assert "LIMIT" in text
        assert "{" not in q.sql and "%" not in q.sql, q.name  # no leftover formatting
        assert "'" not in q.sql.replace(ORIGIN_LITERAL, ""), q.name  # values only as $n parameters
    # series + KPI per rollup, 13 reads (raw 1m series among them), the probe; the 4 alarm
    # reads and the 7 calls of the operators' functions; /trend's ranges (per rollup and raw),
    # its alarm marks and features (count and page), the KPIs' two reads and /api/health's ingest view;
    # the KPI read of given tags per rollup and the snapshot's count and page (issue 19)
    assert len(names) == 2 * 4 + 14 + 4 + 7 + (4 + 1) + 1 + 2 + 2 + 1 + 4 + 2


def test_sql_lives_only_in_queries_module():
    """No other data-layer module holds SQL text or builds strings for the database."""
    for path in DATA_DIR.glob("*.py"):
        if path.name == "queries.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not SQL_RE.search(node.value), (path.name, node.value)
            if isinstance(node, ast.JoinedStr):
                parts = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
                assert not SQL_RE.search(parts), path.name


def test_log_event_is_one_json_line(caplog):
    caplog.set_level(logging.INFO, logger="ksys")
    payload = logevents.log_event("range_change_ok", range="24h", tag="D100", view="influx_agg_1m",
                                  rowcount=1441, dur_ms=12.345, cache_hit=False)
    (record,) = [r for r in caplog.records if r.name == "ksys"]
    line = record.getMessage()
    assert "\n" not in line
    assert json.loads(line) == payload == {
        "event": "range_change_ok", "range": "24h", "tag": "D100", "view": "influx_agg_1m",
        "rowcount": 1441, "dur_ms": 12.3, "cache_hit": False}
    with pytest.raises(ValueError):
        logevents.log_event("no_such_event")


def test_log_read_takes_fields_from_a_result(caplog):
    from ksys_app.data.errors import DataError
    from ksys_app.data.result import ReadResult

    caplog.set_level(logging.INFO, logger="ksys")
    result = ReadResult(rows=(1, 2, 3), cache_hit=True, stale=True, window="7d", tag="D200",
                        view="influx_agg_10m", dur_ms=4.0,
                        error=DataError(ErrorCode.DB_CONN, "database unavailable"))
    payload = logevents.log_read("dash_load_ok", result)
    assert payload["event"] == "dash_load_fail"  # stale rows: the read itself failed
    assert payload["rowcount"] == 3 and payload["range"] == "7d" and payload["cache_hit"] is True
    assert payload["error"] == "DB_CONN" and payload["stale"] is True
    for event in ("dash_load_ok", "range_change_ok", "snapshot_refresh", "db_fail", "db_recover",
                  "payload_bloat"):
        assert set(logevents.COMMON_FIELDS) <= set(logevents.event_payload(event))


def test_json_formatter_adds_time_and_level():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logevents.JsonLineFormatter())
    logevents.logger.addHandler(handler)
    old = logevents.logger.level
    logevents.logger.setLevel(logging.INFO)
    try:
        logevents.log_event("db_fail", range="24h", code=ErrorCode.DB_CONN)
        logevents.logger.info("plain message")
    finally:
        logevents.logger.removeHandler(handler)
        logevents.logger.setLevel(old)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "db_fail" and first["level"] == "WARNING" and first["code"] == "DB_CONN"
    assert "ts" in first
    assert second["msg"] == "plain message" and second["logger"] == "ksys"


def test_every_sentence_the_data_layer_gives_a_page_is_in_both_languages():
    """The pages translate the data layer's fixed sentences (ksys_app.i18n.messages.KNOWN)."""
    from ksys_app.data.errors import CONFIG_FIX
    from ksys_app.i18n import tr_known
    from ksys_app.i18n.messages import KNOWN

    samples = [
        asyncpg.QueryCanceledError("x"), asyncio.TimeoutError(), ConnectionRefusedError(111, "x"),
        asyncpg.InterfaceError("connection is closed"), asyncpg.UndefinedTableError("x"),
        asyncpg.DivisionByZeroError("x"), asyncpg.InvalidPasswordError("x"),
        asyncpg.InvalidAuthorizationSpecificationError("x"), asyncpg.InvalidCatalogNameError("x"),
        asyncpg.exceptions.ClientConfigurationError("x"), RuntimeError("x"),
    ]
    sentences = {CONFIG_FIX}
    for exc in samples:
        for phase in ("connect", "query"):
            err = classify(exc, phase)
            sentences |= {err.message, err.fix} - {""}
    sentences.add(classify(asyncpg.InsufficientPrivilegeError("x"), "connect").fix)
    missing = sorted(s for s in sentences if s not in KNOWN)
    assert missing == []
    assert all(tr_known("ko", s) != s for s in sentences)
