"""The fields of FILE.manifest.json that `ksys restore` reads, validated before the target is touched.

Strict: JSON types exactly as `ksys backup` writes them (12, never "12"; a time
with its zone), so a hand-edited, truncated or foreign file fails in restore's
step 1 with one line naming the first bad field, instead of with a KeyError, or
after pg_restore has run. Fields written only for people (server_version,
pg_dump_version, excluded, ...) are not read, so they are not checked either.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ksys_app.ops.errors import OpsError
from ksys_app.ops.schema.migrate import ENGINES

# Custom error kinds: "bad_value" messages follow the offending value, "bad" ones stand alone.
_BAD_VALUE, _BAD = "bad_value", "bad"


def _bad_value(message: str) -> PydanticCustomError:
    return PydanticCustomError(_BAD_VALUE, message)


def _text(value: str) -> str:
    # Names are printed in restore's output and messages: one line, encodable.
    if not value:
        raise _bad_value("is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _bad_value("contains a control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_value("contains a lone surrogate (\\udXXX escape)") from None
    return value


def _hex(digits: int, what: str):
    pattern = re.compile(f"[0-9a-fA-F]{{{digits}}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _bad_value(f"is not {what} ({digits} hex digits)")
        return value.lower()   # hexdigest() and PostgreSQL's md5() are lower case; comparisons are exact
    return check


def _time_with_zone(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        # the verification compares rows up to this instant: a naive time would depend on the session's zone
        raise _bad_value("is not an ISO 8601 time with a zone")
    return parsed


def _iso_day(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()   # compared as text with hist_summary's days
    except ValueError:
        raise _bad_value("is not an ISO 8601 date (YYYY-MM-DD)") from None


def _engine(value: str) -> str:
    if value not in ENGINES:
        raise _bad_value(f"is not an engine ({', '.join(ENGINES)})")
    return value


Text = Annotated[str, AfterValidator(_text)]
Count = Annotated[int, Field(ge=0)]
Engine = Annotated[str, AfterValidator(_engine)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class AppliedMigration(_Strict):
    version: Count
    file: Text
    engine: Engine
    checksum: Annotated[str, AfterValidator(_hex(64, "a SHA-256"))]


class HistDay(_Strict):
    tag: Text
    day: Annotated[str, AfterValidator(_iso_day)]
    rows: Count
    md5: Annotated[str, AfterValidator(_hex(32, "an md5"))]

    def row(self) -> dict[str, Any]:
        """The shape hist_summary returns, for first_difference."""
        return {"tag": self.tag, "day": self.day, "rows": self.rows, "md5": self.md5}


def _unique_days(days: list[HistDay]) -> list[HistDay]:
    # first_difference keys the days by (tag, day): a repeated one would silently hide the other
    seen: set[tuple[str, str]] = set()
    for i, d in enumerate(days):
        if (d.tag, d.day) in seen:
            raise PydanticCustomError(_BAD, "[{i}]: tag {tag} day {day} appears twice",
                                      {"i": i, "tag": d.tag, "day": d.day})
        seen.add((d.tag, d.day))
    return days


def _unique_versions(migrations: list[AppliedMigration]) -> list[AppliedMigration]:
    seen: set[int] = set()
    for i, m in enumerate(migrations):
        if m.version in seen:
            raise PydanticCustomError(_BAD, "[{i}]: version {version} appears twice", {"i": i, "version": m.version})
        seen.add(m.version)
    return migrations


class InfluxHist(_Strict):
    rows: Count
    days: Annotated[list[HistDay], AfterValidator(_unique_days)]

    @model_validator(mode="after")
    def _rows_add_up(self) -> InfluxHist:
        total = sum(d.rows for d in self.days)
        if total != self.rows:
            raise PydanticCustomError(_BAD, ".rows {rows} is not the sum of its days' rows ({total})",
                                      {"rows": self.rows, "total": total})
        return self


class Manifest(_Strict):
    sha256: Annotated[str, AfterValidator(_hex(64, "a SHA-256"))]
    size_bytes: Count
    backup_time: Annotated[datetime, PlainValidator(_time_with_zone)]
    database: Text
    engine: Engine
    timescaledb_version: Text | None = None
    migrations: Annotated[list[AppliedMigration], AfterValidator(_unique_versions)]
    influx_hist: InfluxHist
    relation_counts: dict[Text, Count] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_engine(self) -> Manifest:
        # a database is migrated for one engine (history.recorded_engine); check_history relies on it
        for i, m in enumerate(self.migrations):
            if m.engine != self.engine:
                raise PydanticCustomError(_BAD, "migrations[{i}].engine {other} differs from engine {engine}",
                                          {"i": i, "other": repr(m.engine), "engine": repr(self.engine)})
        return self


def validate(data: dict[str, Any], path: Path) -> Manifest:
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise OpsError(f"{path}: {describe(exc.errors(include_url=False)[0])}") from None


_EXPECTED = {"int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
             "string_type": "a string", "list_type": "a list", "dict_type": "an object",
             "model_type": "an object", "model_attributes_type": "an object"}


def describe(error: dict[str, Any]) -> str:
    """One line for pydantic's first error, in the manifest's own terms."""
    where = _where(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{where} is missing"
    if kind == _BAD:   # a check across fields: the message names the field after its parent (where)
        return f"{where}{error['msg']}" if not where or error["msg"].startswith((".", "[")) else f"{where}: {error['msg']}"
    if kind == _BAD_VALUE:
        return f"{where} {shown(error['input'])} {error['msg']}"
    if kind in _EXPECTED:
        return f"{where} is {kind_of(error['input'])}, not {_EXPECTED[kind]}"
    if kind == "greater_than_equal":
        return f"{where} {shown(error['input'])} is below {error['ctx']['ge']}"
    return f"{where}: {error['msg']}"


def _where(loc: tuple) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(item, str) and item.isidentifier():
            parts.append(f".{item}" if parts else item)
        else:
            parts.append(f"[{shown(item)}]")
    return "".join(parts)


def shown(value: Any) -> str:
    """A short, one-line rendering of a JSON value (never the repr of a deep container)."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "...'"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        text = str(value) if not isinstance(value, int) or value.bit_length() < 200 else "a very long number"
        return text
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


def kind_of(value: Any) -> str:
    if isinstance(value, str):
        return f"a string ({shown(value)})"
    if isinstance(value, bool) or value is None:
        return shown(value)
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}"
    return shown(value)
