"""Messages the page states compose: notices, empty states, errors (by id; see ksys_app.i18n).

`KNOWN` maps the data layer's fixed English sentences (DataError messages and
fixes, ksys_app/data/errors.py) to their ids, so a page can show them in its
language without the data layer knowing about languages; a sentence with
values in it (an INVALID_INPUT naming the value) is shown as it is.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # notices
    "range.bad_from": ("'from' is not a time (use 2026-12-01, 2026-12-01T14:00 or 2026-12-01T14:00+09:00): "
                       "showing the last {window}",
                       "'from'이 시각이 아닙니다 (2026-12-01, 2026-12-01T14:00, 2026-12-01T14:00+09:00 형식): "
                       "최근 {window} 표시"),
    "range.bad_to": ("'to' is not a time or 'now': showing the last {window}",
                     "'to'가 시각이나 'now'가 아닙니다: 최근 {window} 표시"),
    "range.reversed": ("'from' was after 'to': the two are swapped", "'from'이 'to'보다 늦어 둘을 바꿨습니다"),
    "range.in_future": ("the range reached into the future: it ends now", "범위가 미래까지 이어져 지금에서 끝냅니다"),
    "range.too_long": ("ranges are at most 12 months: showing the 12 months before its end",
                       "범위는 최대 12개월입니다: 끝에서 12개월 전부터 표시"),
    "range.before_retention": ("data is kept 12 months: the range starts where the data does",
                               "데이터는 12개월 보관됩니다: 남아 있는 데이터부터 표시"),
    "range.too_short": ("ranges are at least 1 minute: widened to one", "범위는 최소 1분입니다: 1분으로 넓혔습니다"),
    "notice.unknown_window": ("Unknown window '{value}' — showing {default}",
                              "알 수 없는 기간 '{value}' — {default}(으)로 표시합니다"),
    "notice.unknown_tag": ("Unknown tag '{value}' — showing {fallback}",
                           "알 수 없는 태그 '{value}' — {fallback}(으)로 표시합니다"),
    "notice.unknown_lang": ("Unknown language '{value}' — showing {shown}",
                            "알 수 없는 언어 '{value}' — {shown}(으)로 표시합니다"),
    "notice.unknown_start": ("Unknown start date '{value}' — showing the last 30 days",
                             "알 수 없는 시작일 '{value}' — 최근 30일을 표시합니다"),
    "notice.start_outside": ("Start date {value} is outside {lo} … {hi} — showing {shown}",
                             "시작일 {value}이(가) {lo} … {hi} 밖입니다 — {shown}부터 표시합니다"),
    "notice.unknown_kiosk": ("Unknown kiosk value '{value}' — ignored (use kiosk=1 or kiosk=0)",
                             "알 수 없는 kiosk 값 '{value}' — 무시합니다 (kiosk=1 또는 kiosk=0)"),
    "notice.unknown_cycle": ("Unknown cycle value '{value}' — using {default} s (a whole number of seconds, 0 = no cycling)",
                             "알 수 없는 cycle 값 '{value}' — {default}초를 씁니다 (초 단위 정수, 0 = 순환 없음)"),
    "notice.payload": ("PAYLOAD_BLOAT: {what} (the data is all shown; a shorter window loads faster)",
                       "PAYLOAD_BLOAT: {what} (데이터는 모두 표시됩니다. 더 짧은 기간이 더 빨리 열립니다)"),
    "notice.payload_update": ("this update is about {kb} KB, over the {budget} KB payload budget",
                              "이번 갱신은 약 {kb} KB로, 페이로드 한도 {budget} KB를 넘습니다"),
    "notice.payload_read": ("about {kb} KB for {rows} rows exceeds the {budget} KB payload budget; choose a shorter window",
                         "{rows}행에 약 {kb} KB로 페이로드 한도 {budget} KB를 넘습니다. 더 짧은 기간을 고르세요"),
    # empty states
    "empty.no_tags": ("no tags in the database yet", "데이터베이스에 아직 태그가 없습니다"),
    "empty.tag_window": ("no data for {tag} in the last {window}", "최근 {window} 동안 {tag}의 데이터가 없습니다"),
    "empty.window": ("no data in the last {window}", "최근 {window} 동안 데이터가 없습니다"),
    "empty.comm": ("no data for {tag} in the 30 days from {start}", "{start}부터 30일 동안 {tag}의 데이터가 없습니다"),
    "empty.features": ("no 5-minute features for {tag} in the last {window}",
                       "최근 {window} 동안 {tag}의 5분 특성이 없습니다"),
    # values the states format
    "kpi.no_limits": ("no limits", "한계 없음"),
    "kpi.window_scale": ("window scale", "기간 기준 눈금"),
    "trend.raw": ("none (raw readings)", "없음 (원시 측정값)"),
    "comm.not_yet": ("not yet", "아직"),
    "comm.rate_no_data": ("no data", "데이터 없음"),
    "comm.hour_in_progress": (" (hour in progress)", " (진행 중인 시간)"),
    "comm.slo": ("ok ≥ {warn}%, warn ≥ {crit}%, crit below", "정상 ≥ {warn}%, 주의 ≥ {crit}%, 그 아래 위험"),
    "chart.partial_running": ("partial bucket (in progress)", "미완성 버킷 (진행 중)"),
    "chart.partial_n": ("partial bucket (n={n})", "미완성 버킷 (n={n})"),
    "chart.partial_n_of": ("partial bucket (n={n} of ~{expected})", "미완성 버킷 (n={n}, 보통 ~{expected})"),
    # the data layer's sentences (KNOWN below)
    "err.refused_login": ("the database refused the dashboard's login", "데이터베이스가 대시보드의 로그인을 거부했습니다"),
    "err.no_connect_right": ("the dashboard's role may not connect to this database",
                             "대시보드의 역할은 이 데이터베이스에 연결할 권한이 없습니다"),
    "err.timeout": ("the database did not answer in time", "데이터베이스가 제때 응답하지 않았습니다"),
    "err.config_dsn": ("TS_DSN cannot be used as it is (the dashboard's log says why)",
                       "TS_DSN을 그대로 쓸 수 없습니다 (이유는 대시보드 로그에)"),
    "err.connect_timeout": ("no database connection within the connect timeout "
                            "(server unreachable or every pooled connection busy)",
                            "연결 제한 시간 안에 데이터베이스에 연결하지 못했습니다 "
                            "(서버에 닿을 수 없거나 모든 풀 연결이 사용 중)"),
    "err.drift": ("the database schema does not match the dashboard", "데이터베이스 스키마가 대시보드와 맞지 않습니다"),
    "err.lost": ("the database connection was lost", "데이터베이스 연결이 끊겼습니다"),
    "err.unreachable": ("the database is unreachable", "데이터베이스에 연결할 수 없습니다"),
    "err.db_error": ("the database reported an error", "데이터베이스가 오류를 보고했습니다"),
    "fix.password": ("check the user and password in TS_DSN (or the role's password on the server)",
                     "TS_DSN의 사용자와 비밀번호(또는 서버의 역할 비밀번호)를 확인하세요"),
    "fix.user": ("check the user in TS_DSN and that pg_hba.conf lets it connect from this host",
                 "TS_DSN의 사용자와, pg_hba.conf가 이 호스트에서의 연결을 허용하는지 확인하세요"),
    "fix.database": ("check the database name in TS_DSN (a new server needs `ksys migrate` first)",
                     "TS_DSN의 데이터베이스 이름을 확인하세요 (새 서버는 먼저 `ksys migrate`)"),
    "fix.config": ("correct it in the environment or .env", "환경 변수나 .env에서 고치세요"),
    "fix.connect_right": ("GRANT CONNECT ON DATABASE <db> TO <role> (`ksys migrate` grants it to eco_ro)",
                          "GRANT CONNECT ON DATABASE <db> TO <role> (`ksys migrate`가 eco_ro에 부여합니다)"),
}

KNOWN: dict[str, str] = {en: key for key, (en, _ko) in MESSAGES.items() if key.startswith(("err.", "fix."))}
