"""Settings of the dashboard process, from the environment and `.env`.

Environment variables win over `.env`. TS_DSN and TZ keep the PRD's names
(27.8); everything else is prefixed KSYS_. `load_settings()` turns any bad
value into one ConfigError whose message names the variable, never the DSN's
password. No reflex import here: the CLI and the tests load this quickly.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ksys_app.domain.kiosk import DEFAULT_CYCLE_S, DEFAULT_PAGES, parse_pages
from ksys_app.security import parse_origins

DEFAULT_ENV_FILE = ".env"
MAX_WORKERS = 32  # app worker processes (KSYS_WORKERS); each holds a database pool

# Connection parameters the data layer knows how to hand to asyncpg.
SUPPORTED_DSN_KEYS = frozenset(
    {"host", "hostaddr", "port", "user", "password", "dbname", "sslmode",
     "connect_timeout", "application_name", "target_session_attrs", "passfile"}
)


# The placeholders .env.example ships with. A deployment that kept one runs with a
# password anyone can read in this repository: refused wherever a secret is read.
PLACEHOLDER_SECRETS = frozenset({"change-me", "change-me-too"})


def placeholder_problem(secret: str | None, where: str) -> str | None:
    """Why `secret` must not be used (it is .env.example's placeholder), or None."""
    if secret is not None and secret.strip().lower() in PLACEHOLDER_SECRETS:
        return f"the password in {where} is the placeholder from .env.example; set a real one"
    return None


class ConfigError(Exception):
    """A setting is missing or invalid; str(err) is the message to show."""


def parse_dsn(dsn: str) -> dict[str, str]:
    """libpq conninfo (URI or key=value) as a dict; ValueError without echoing the DSN.

    psycopg is imported with this module, not here: importing it takes ~70 ms,
    which the first page after a server start would otherwise wait for.
    """
    try:
        parts = conninfo_to_dict(dsn)
    except (ProgrammingError, UnicodeError):   # UnicodeError: bytes that are not UTF-8 (lone surrogates)
        raise ValueError(
            "not a valid PostgreSQL DSN; expected postgresql://user:password@host:port/dbname "
            "or key=value pairs"
        ) from None
    unknown = sorted(set(parts) - SUPPORTED_DSN_KEYS)
    if unknown:
        raise ValueError(f"unsupported connection parameter(s): {', '.join(unknown)}")
    parts = {k: str(v) for k, v in parts.items()}
    _check_dsn_values(parts)
    return parts


def dsn_list(value: str | None) -> list[str]:
    """The entries of a libpq comma list (host, hostaddr, port): one per server to try."""
    return [] if not value else value.split(",")


def _check_dsn_values(parts: dict[str, str]) -> None:
    """What libpq checks when it connects, checked here for the pool, which hands the values
    to asyncpg: there a port 'abc' or 99999, a connect_timeout 'soon' or a host label over 63
    characters raised ValueError, OverflowError or UnicodeError out of every read instead of
    a DataError (found by tests/fuzz/test_fuzz_dsn.py). Values are not echoed: this string
    holds the password too."""
    hosts = dsn_list(parts.get("hostaddr") or parts.get("host"))
    if any(h == "" for h in hosts):
        raise ValueError("host lists an empty entry")
    for host in dsn_list(parts.get("hostaddr")):
        if not _is_ip(host):
            raise ValueError("hostaddr must be a numeric IP address")
    for host in dsn_list(parts.get("host")):
        if not (host.startswith("/") or _is_ip(host) or _encodes_as_host_name(host)):
            raise ValueError("host is not a valid host name, IP address or socket directory")
    ports = dsn_list(parts.get("port"))
    if any(not (p.isascii() and p.isdigit() and 1 <= int(p) <= 65535) for p in ports):
        raise ValueError("port must be a number 1..65535 (or a comma list of them, one per host)")
    if len(ports) > 1 and len(ports) != max(len(hosts), 1):
        raise ValueError(f"{len(ports)} ports for {len(hosts)} host(s): give one port, or one per host")
    timeout = parts.get("connect_timeout", "").strip()
    if timeout and not re.fullmatch(r"[+-]?[0-9]{1,9}", timeout):
        raise ValueError("connect_timeout must be a whole number of seconds")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _encodes_as_host_name(host: str) -> bool:
    try:
        host.encode("idna")
    except UnicodeError:   # a label over 63 characters, an empty label, ...
        return False
    return True


class Settings(BaseSettings):
    """Everything the data layer needs; build one with load_settings()."""

    model_config = SettingsConfigDict(
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )

    ts_dsn: str = Field(validation_alias="TS_DSN", min_length=1, repr=False)
    tz: str = Field("Asia/Seoul", validation_alias="TZ")

    statement_timeout_ms: int = Field(900, validation_alias="KSYS_STATEMENT_TIMEOUT_MS", gt=0)
    idle_in_transaction_timeout_ms: int = Field(
        5000, validation_alias="KSYS_IDLE_IN_TRANSACTION_TIMEOUT_MS", gt=0)
    connect_timeout_s: float = Field(5.0, validation_alias="KSYS_CONNECT_TIMEOUT_S", gt=0)
    pool_min_size: int = Field(1, validation_alias="KSYS_POOL_MIN_SIZE", ge=0)
    pool_max_size: int = Field(5, validation_alias="KSYS_POOL_MAX_SIZE", ge=1)

    cache_ttl_metrics_s: float = Field(30, validation_alias="KSYS_CACHE_TTL_METRICS_S", ge=0)
    cache_ttl_features_s: float = Field(60, validation_alias="KSYS_CACHE_TTL_FEATURES_S", ge=0)
    cache_ttl_snapshot_s: float = Field(0, validation_alias="KSYS_CACHE_TTL_SNAPSHOT_S", ge=0)
    cache_ttl_comm_s: float = Field(300, validation_alias="KSYS_CACHE_TTL_COMM_S", ge=0)
    cache_ttl_tags_s: float = Field(300, validation_alias="KSYS_CACHE_TTL_TAGS_S", ge=0)
    cache_max_entries: int = Field(100, validation_alias="KSYS_CACHE_MAX_ENTRIES", ge=1)

    payload_warn_bytes: int = Field(300_000, validation_alias="KSYS_PAYLOAD_WARN_BYTES", gt=0)

    # How often the dashboard re-reads its latest snapshot (its KPI tiles follow
    # cache_ttl_metrics_s, the age at which their cached read expires).
    snapshot_period_s: float = Field(60.0, validation_alias="KSYS_SNAPSHOT_PERIOD_S", gt=0)

    # Kiosk mode (a wall screen, README "Kiosk mode on a Raspberry Pi"): the default
    # of every browser (?kiosk=0/1 overrides it per screen), the pages it cycles
    # through and the seconds on each (0 = stay on the first page).
    kiosk: bool = Field(False, validation_alias="KSYS_KIOSK")
    kiosk_pages: str = Field(DEFAULT_PAGES, validation_alias="KSYS_KIOSK_PAGES")
    kiosk_cycle_s: int = Field(DEFAULT_CYCLE_S, validation_alias="KSYS_KIOSK_CYCLE_S", ge=0)
    # The display theme a browser gets until it picks its own (states/display.py).
    theme: Literal["light", "dark"] = Field("light", validation_alias="KSYS_THEME")
    # Browser origins besides the dashboard's own that may use it (ksys_app/security.py),
    # e.g. a reverse proxy's https://dashboard.plant; comma-separated.
    allowed_origins: str = Field("", validation_alias="KSYS_ALLOWED_ORIGINS")
    # Websocket events one browser connection may send (ksys_app/eventlimit.py): a burst
    # of this many, refilled at this rate; more are dropped and logged.
    event_rate_per_s: float = Field(20.0, validation_alias="KSYS_EVENT_RATE_PER_S", gt=0)
    event_burst: int = Field(60, validation_alias="KSYS_EVENT_BURST", ge=1)
    # The language of the pages until a browser picks its own (states/lang.py).
    lang: Literal["en", "ko"] = Field("en", validation_alias="KSYS_LANG")
    # Operator actions on /alarms (log in, acknowledge, shelve): the DSN of eco_operator,
    # a role that may call the operators' functions only (migration 0020). Unset: the
    # alarm pages show the alarms read-only.
    operator_dsn: str | None = Field(None, validation_alias="KSYS_OPERATOR_DSN", repr=False)
    # Every page shows the login form until an operator logged in (default: viewing is open).
    require_login: bool = Field(False, validation_alias="KSYS_REQUIRE_LOGIN")
    # Alarm states and the banner's counts: read again (and refreshed live) this often.
    cache_ttl_alarms_s: float = Field(5, validation_alias="KSYS_CACHE_TTL_ALARMS_S", ge=0)
    # the alarm KPIs on /alarms read a month of the journal: not every few seconds
    cache_ttl_alarm_kpis_s: float = Field(300, validation_alias="KSYS_CACHE_TTL_ALARM_KPIS_S", ge=0)

    # Several app workers (README "Several app workers"): Reflex keeps each tab's page
    # state in Redis, so any worker can answer any tab and a restart keeps the tabs' state.
    # Without Redis the state lives in one process, so one worker is all there can be.
    redis_url: str | None = Field(None, validation_alias="KSYS_REDIS_URL", repr=False)
    workers: int | None = Field(None, validation_alias="KSYS_WORKERS", ge=1, le=MAX_WORKERS)

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        scheme = v.split("://", 1)[0].lower() if "://" in v else ""
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"must be a redis://host:port/db URL (or rediss://, unix://), got {v.split('@')[-1][:60]!r}")
        return v

    @field_validator("workers", mode="before")
    @classmethod
    def _workers_unset_when_empty(cls, v: Any) -> Any:
        # docker-compose passes ${KSYS_WORKERS:-} through as an empty variable
        return None if isinstance(v, str) and not v.strip() else v

    @model_validator(mode="after")
    def _workers_need_redis(self) -> "Settings":
        if (self.workers or 1) > 1 and not self.redis_url:
            raise ValueError(
                f"KSYS_WORKERS={self.workers} needs KSYS_REDIS_URL: without Redis each worker would keep "
                "its own page state, and a tab answered by another worker would lose its view")
        return self

    @field_validator("ts_dsn")
    @classmethod
    def _dsn_parses(cls, v: str) -> str:
        problem = placeholder_problem(parse_dsn(v).get("password"), "TS_DSN")
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("operator_dsn")
    @classmethod
    def _operator_dsn_parses(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        problem = placeholder_problem(parse_dsn(v).get("password"), "KSYS_OPERATOR_DSN")
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("allowed_origins")
    @classmethod
    def _origins_parse(cls, v: str) -> str:
        parse_origins(v)
        return v

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r} (e.g. Asia/Seoul, UTC)") from None
        return v

    @field_validator("kiosk_pages")
    @classmethod
    def _known_routes(cls, v: str) -> str:
        return ",".join(parse_pages(v))

    @model_validator(mode="after")
    def _pool_bounds(self) -> "Settings":
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"KSYS_POOL_MIN_SIZE ({self.pool_min_size}) must not exceed "
                f"KSYS_POOL_MAX_SIZE ({self.pool_max_size})"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def dsn_parts(self) -> dict[str, str]:
        return parse_dsn(self.ts_dsn)

    def operator_dsn_parts(self) -> dict[str, str] | None:
        """KSYS_OPERATOR_DSN as parts, or None when operator actions are not configured."""
        return None if self.operator_dsn is None else parse_dsn(self.operator_dsn)

    def ttl_for(self, kind: str) -> float:
        """Cache TTL in seconds of a read kind: metrics, features, snapshot, comm, tags."""
        try:
            return float(getattr(self, f"cache_ttl_{kind}_s"))
        except AttributeError:
            raise KeyError(f"unknown cache kind {kind!r}") from None


def env_var_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field.upper()


_ALIASES = {env_var_name(f): f for f in Settings.model_fields}
# Settings whose value carries a password: a message about them never shows the value.
SECRET_VARS = frozenset({"TS_DSN", "KSYS_OPERATOR_DSN", "KSYS_REDIS_URL"})


def _describe(err: dict[str, Any]) -> str:
    loc = err.get("loc") or ()
    name = str(loc[0]) if loc else ""
    var = env_var_name(name) if name in Settings.model_fields else name
    msg = err.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "missing":
        return f"{var} is not set"
    if not var:
        return msg
    # The DSN carries a password: never echo its value.
    if (var not in SECRET_VARS and err.get("type") != "value_error"
            and "input" in err and not isinstance(err["input"], dict)):
        return f"{var}: {msg} (got {err['input']!r})"
    return f"{var}: {msg}"


def load_settings(env_file: str | Path | None = DEFAULT_ENV_FILE, **overrides: Any) -> Settings:
    """Settings from the environment, then `env_file` (None: environment only).

    Raises ConfigError with one line per bad variable, each naming it.
    """
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors(include_url=False)]
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
