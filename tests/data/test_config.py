"""Settings: defaults, environment and .env, one clear message per bad variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ksys_app.config import ConfigError, Settings, env_var_name, load_settings
from ksys_app.data.pool import connect_kwargs

DSN = "postgresql://eco_ro:s3cret-pw@db.example:5433/EcoAnP?sslmode=require"
ALL_VARS = [env_var_name(f) for f in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ALL_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults(monkeypatch):
    monkeypatch.setenv("TS_DSN", DSN)
    s = load_settings()
    assert s.tz == "Asia/Seoul"
    assert (s.statement_timeout_ms, s.idle_in_transaction_timeout_ms) == (900, 5000)
    assert (s.pool_min_size, s.pool_max_size) == (1, 5)
    assert [s.ttl_for(k) for k in ("metrics", "features", "snapshot", "comm", "tags")] == [30, 60, 0, 300, 300]
    assert s.cache_max_entries == 100
    assert s.snapshot_period_s == 60
    assert (s.kiosk, s.kiosk_pages, s.kiosk_cycle_s) == (False, "/,/comm", 30)
    assert "s3cret" not in repr(s)


def test_env_file_and_environment_precedence(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(f"TS_DSN={DSN}\nTZ=UTC\nKSYS_STATEMENT_TIMEOUT_MS=1500\nAPP_ENV=production\n")
    s = load_settings()
    assert (s.tz, s.statement_timeout_ms) == ("UTC", 1500)
    monkeypatch.setenv("KSYS_STATEMENT_TIMEOUT_MS", "700")
    assert load_settings().statement_timeout_ms == 700
    assert load_settings(env_file=None, ts_dsn=DSN).tz == "Asia/Seoul"


@pytest.mark.parametrize("var, value, expect", [
    ("TZ", "Mars/Olympus", "TZ: unknown IANA time zone 'Mars/Olympus'"),
    ("KSYS_STATEMENT_TIMEOUT_MS", "fast", "KSYS_STATEMENT_TIMEOUT_MS: Input should be a valid integer"),
    ("KSYS_STATEMENT_TIMEOUT_MS", "0", "KSYS_STATEMENT_TIMEOUT_MS: Input should be greater than 0"),
    ("KSYS_POOL_MAX_SIZE", "0", "KSYS_POOL_MAX_SIZE"),
    ("KSYS_POOL_MIN_SIZE", "9", "KSYS_POOL_MIN_SIZE (9) must not exceed KSYS_POOL_MAX_SIZE (5)"),
    ("KSYS_CACHE_TTL_METRICS_S", "-1", "KSYS_CACHE_TTL_METRICS_S: Input should be greater than or equal to 0"),
    ("KSYS_CACHE_MAX_ENTRIES", "lots", "KSYS_CACHE_MAX_ENTRIES"),
    ("KSYS_SNAPSHOT_PERIOD_S", "0", "KSYS_SNAPSHOT_PERIOD_S: Input should be greater than 0"),
    ("KSYS_SNAPSHOT_PERIOD_S", "soon", "KSYS_SNAPSHOT_PERIOD_S: Input should be a valid number"),
    ("KSYS_KIOSK", "maybe", "KSYS_KIOSK: Input should be a valid boolean"),
    ("KSYS_KIOSK_PAGES", "/,/nope", "KSYS_KIOSK_PAGES: unknown route(s) /nope; known: /, /trend, /tech, /comm"),
    ("KSYS_KIOSK_PAGES", ",", "KSYS_KIOSK_PAGES: names no page"),
    ("KSYS_KIOSK_CYCLE_S", "-5", "KSYS_KIOSK_CYCLE_S: Input should be greater than or equal to 0"),
    ("KSYS_KIOSK_CYCLE_S", "often", "KSYS_KIOSK_CYCLE_S: Input should be a valid integer"),
    ("KSYS_THEME", "blue", "KSYS_THEME: Input should be 'light' or 'dark'"),
    ("KSYS_LANG", "fr", "KSYS_LANG: Input should be 'en' or 'ko'"),
    ("KSYS_ALLOWED_ORIGINS", "*", "KSYS_ALLOWED_ORIGINS: '*' would let every web site read the dashboard"),
    ("KSYS_ALLOWED_ORIGINS", "https://proxy/path", "KSYS_ALLOWED_ORIGINS: 'https://proxy/path' is not an origin"),
    ("TS_DSN", "postgresql://eco_ro:change-me-too@127.0.0.1/ecoanp",
     "TS_DSN: the password in TS_DSN is the placeholder from .env.example; set a real one"),
])
def test_bad_value_names_the_variable(monkeypatch, var, value, expect):
    monkeypatch.setenv("TS_DSN", DSN)
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert expect in str(err.value)
    assert str(err.value).count("\n") == 0


def test_missing_and_bad_dsn_never_echo_secrets(monkeypatch):
    with pytest.raises(ConfigError, match="TS_DSN is not set"):
        load_settings()
    monkeypatch.setenv("TS_DSN", "postgresql://eco_ro:s3cret-pw@db/EcoAnP?bogus_option=1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "TS_DSN" in str(err.value) and "s3cret" not in str(err.value)
    monkeypatch.setenv("TS_DSN", "host=db password='s3cret-pw")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "TS_DSN" in str(err.value) and "s3cret" not in str(err.value)


def test_several_bad_values_in_one_message(monkeypatch):
    monkeypatch.setenv("TS_DSN", DSN)
    monkeypatch.setenv("TZ", "Nowhere")
    monkeypatch.setenv("KSYS_POOL_MAX_SIZE", "many")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "TZ:" in str(err.value) and "KSYS_POOL_MAX_SIZE:" in str(err.value)


@pytest.mark.parametrize("dsn", [DSN, "host=db.example port=5433 user=eco_ro password=s3cret-pw "
                                      "dbname=EcoAnP sslmode=require"])
def test_uri_and_keyword_dsn_give_the_same_connection(dsn):
    kw = connect_kwargs(Settings(_env_file=None, ts_dsn=dsn))
    assert {k: kw[k] for k in ("host", "port", "user", "password", "database", "ssl")} == {
        "host": "db.example", "port": 5433, "user": "eco_ro", "password": "s3cret-pw",
        "database": "EcoAnP", "ssl": "require"}
    assert kw["server_settings"]["statement_timeout"] == "900"
    assert kw["server_settings"]["idle_in_transaction_session_timeout"] == "5000"
    assert kw["server_settings"]["default_transaction_read_only"] == "on"


@pytest.mark.parametrize("dsn, expect", [
    ("host=127.0.0.1 port=abc", "port must be a number 1..65535"),
    ("host=127.0.0.1 port=99999", "port must be a number 1..65535"),
    ("host=127.0.0.1,127.0.0.2 port=1,2,3", "3 ports for 2 host(s)"),
    ("host=127.0.0.1 connect_timeout=soon", "connect_timeout must be a whole number of seconds"),
    ("host=" + "a" * 64 + " port=5432", "host is not a valid host name"),
    ("hostaddr=db.example", "hostaddr must be a numeric IP address"),
    ("host=127.0.0.1, port=5432", "host lists an empty entry"),
])
def test_dsn_values_the_pool_cannot_use_are_refused_at_start(dsn, expect):
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None, ts_dsn=dsn + " password=s3cret-pw")
    assert expect in str(err.value) and "s3cret" not in str(err.value)


def test_a_host_list_reaches_asyncpg_as_a_list():
    kw = connect_kwargs(Settings(_env_file=None, ts_dsn="host=db1.example,db2.example port=5432,5433 "
                                                       "connect_timeout=0"))
    assert (kw["host"], kw["port"]) == (["db1.example", "db2.example"], [5432, 5433])
    assert kw["timeout"] == 5.0   # libpq's 0 is "no limit": the dashboard keeps KSYS_CONNECT_TIMEOUT_S


def test_core_modules_do_not_import_reflex():
    code = ("import sys, ksys_app.config, ksys_app.logevents, ksys_app.data, ksys_app.data.repository; "
            "bad = [m for m in sys.modules if m == 'reflex' or m.startswith('reflex.')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kiosk_settings(monkeypatch):
    monkeypatch.setenv("TS_DSN", DSN)
    monkeypatch.setenv("KSYS_KIOSK", "1")
    monkeypatch.setenv("KSYS_KIOSK_PAGES", " /comm?tag=D100 , /trend ")
    monkeypatch.setenv("KSYS_KIOSK_CYCLE_S", "0")
    s = load_settings()
    assert (s.kiosk, s.kiosk_pages, s.kiosk_cycle_s) == (True, "/comm?tag=D100,/trend", 0)


def test_workers_and_redis_settings(monkeypatch):
    monkeypatch.setenv("TS_DSN", DSN)
    s = load_settings()
    assert (s.redis_url, s.workers) == (None, None)
    # docker-compose passes unset variables through as empty ones
    monkeypatch.setenv("KSYS_REDIS_URL", "")
    monkeypatch.setenv("KSYS_WORKERS", "")
    assert (load_settings().redis_url, load_settings().workers) == (None, None)
    monkeypatch.setenv("KSYS_WORKERS", "4")
    with pytest.raises(ConfigError, match="KSYS_WORKERS=4 needs KSYS_REDIS_URL"):
        load_settings()
    monkeypatch.setenv("KSYS_REDIS_URL", "redis://:secret@redis:6379/0")
    s = load_settings()
    assert (s.redis_url, s.workers) == ("redis://:secret@redis:6379/0", 4)
    assert "secret" not in repr(s)
    for bad in ("0", "33", "four"):
        monkeypatch.setenv("KSYS_WORKERS", bad)
        with pytest.raises(ConfigError, match="KSYS_WORKERS"):
            load_settings()
    monkeypatch.setenv("KSYS_WORKERS", "1")
    monkeypatch.setenv("KSYS_REDIS_URL", "http://:secret@redis:6379")
    with pytest.raises(ConfigError, match="KSYS_REDIS_URL") as err:
        load_settings()
    assert "secret" not in str(err.value)
