"""`ksys qc sync` / `ksys qc verify`: influx_qc_rule from and against a CSV file (PRD 27.4).

The file has a header with the PRD's 15 columns (any order, no others). Every
row is validated before anything is written: numbers, min <= max, warn and crit
limits inside min..max, booleans, JSON objects in meta, one row per tag. Any
bad row fails the whole file with its line number; sync then writes nothing.
Sync upserts every row in one transaction; it never deletes a rule unless
--prune is given, which deletes the rules whose tag is not in the file in the
same transaction and lists each one. Verify prints the drift (added / removed /
changed fields), exits 1 when there is any and names the sync that clears it:
rules only in the database ("removed") need `ksys qc sync --prune`.

An empty cell is NULL (meta: {}). meta's "unit" and "group" keys are the tag's unit and
its group (plant area) on `/`; a group must be a name domain.groups.group_name accepts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import psycopg
from psycopg import sql

from ksys_app.domain import groups, inputs
from ksys_app.domain.groups import GROUP_KEY
from ksys_app.domain.inputs import InputError
from ksys_app.ops.dataops.csvrecords import CsvFile
from ksys_app.ops.db import connect, db_error
from ksys_app.ops.errors import OpsError

Out = Callable[[str], None]

COLUMNS = ("tag_name", "min_val", "max_val", "max_step", "max_gap_seconds", "allow_negative", "enabled", "meta",
           "warn_min", "warn_max", "crit_min", "crit_max", "roc_max_per_min", "spike_zscore", "deadband_pct")
FLOATS = ("min_val", "max_val", "max_step", "warn_min", "warn_max", "crit_min", "crit_max", "roc_max_per_min",
          "spike_zscore", "deadband_pct")
NON_NEGATIVE = ("max_step", "max_gap_seconds", "roc_max_per_min", "spike_zscore", "deadband_pct")
BOOLS = ("allow_negative", "enabled")
TRUE = {"true", "t", "yes", "y", "1", "on"}
FALSE = {"false", "f", "no", "n", "0", "off"}
EXIT_BAD_FILE = 1
EXIT_DRIFT = 1


class BadFile(OpsError):
    """The file has bad rows; `errors` lists each with its line number."""

    def __init__(self, path: Path, errors: list[str]):
        self.errors = errors
        super().__init__(f"{path}: {len(errors)} error(s), nothing written", exit_code=EXIT_BAD_FILE)


def _number(text: str, column: str, errors: list[str], where: str) -> float | None:
    if text == "":
        return None
    try:
        return inputs.decimal(text, column)   # ASCII digits: not "1_000", "٥", nan or inf
    except InputError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _integer(text: str, column: str, errors: list[str], where: str) -> int | None:
    if text == "":
        return None
    try:
        return inputs.integer(text, column, -2**31, 2**31 - 1)
    except InputError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _boolean(text: str, column: str, errors: list[str], where: str) -> bool | None:
    low = text.lower()
    if low == "":
        return None
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    errors.append(f"{where}: {column} is not a boolean (true/false): {text!r}")
    return None


def parse_file(path: Path) -> dict[str, dict[str, Any]]:
    """tag_name -> typed row; raises BadFile listing every problem with its line number."""
    errors: list[str] = []
    rules: dict[str, dict[str, Any]] = {}
    first_line_of: dict[str, int] = {}
    with CsvFile(path) as source:
        header = source.header()
        if header is None:
            raise BadFile(path, ["line 1: the file is empty (a header is required)"])
        header = [h.strip() for h in header]
        missing = [c for c in COLUMNS if c not in header]
        unknown = [h for h in header if h not in COLUMNS]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if missing:
            errors.append(f"line 1: missing column(s): {', '.join(missing)}")
        if unknown:
            errors.append(f"line 1: unknown column(s): {', '.join(unknown)}")
        if duplicated:
            errors.append(f"line 1: column(s) given twice: {', '.join(duplicated)}")
        if errors:
            raise BadFile(path, errors)
        for start, cells in source.records():
            if isinstance(cells, csv.Error):
                errors.append(f"line {start}: {cells}")
                break
            where = f"line {start}"
            if not cells or all(c.strip() == "" for c in cells):
                continue
            if len(cells) != len(header):
                errors.append(f"{where}: {len(cells)} fields, the header has {len(header)}")
                continue
            raw = {h: c.strip() for h, c in zip(header, cells)}
            row = _typed_row(raw, where, errors)
            if row is None:
                continue
            tag = row["tag_name"]
            if tag in rules:
                errors.append(f"{where}: duplicate tag {tag} (first on line {first_line_of[tag]})")
                continue
            rules[tag] = row
            first_line_of[tag] = start
    if errors:
        raise BadFile(path, errors)
    return rules


def _typed_row(raw: dict[str, str], where: str, errors: list[str]) -> dict[str, Any] | None:
    before = len(errors)
    row: dict[str, Any] = {"tag_name": raw["tag_name"]}
    try:
        inputs.tag_name(raw["tag_name"])
    except InputError as exc:
        errors.append(f"{where}: tag_name: {exc}")
    for column in FLOATS:
        row[column] = _number(raw[column], column, errors, where)
    row["max_gap_seconds"] = _integer(raw["max_gap_seconds"], "max_gap_seconds", errors, where)
    for column in BOOLS:
        row[column] = _boolean(raw[column], column, errors, where)
    if raw["meta"] == "":
        row["meta"] = {}
    else:
        try:
            row["meta"] = inputs.json_object(raw["meta"], "meta")   # bounded in size and depth
        except InputError as exc:
            errors.append(f"{where}: {exc}")
        else:
            # the tag's group (plant area) on `/`: a name the dashboard can show, or no key at all
            if GROUP_KEY in row["meta"]:
                try:
                    groups.group_name(row["meta"][GROUP_KEY])
                except InputError as exc:
                    errors.append(f"{where}: meta.{GROUP_KEY}: {exc}")
    if len(errors) > before:
        return None
    lo, hi = row["min_val"], row["max_val"]
    if lo is not None and hi is not None and lo > hi:
        errors.append(f"{where}: min_val {lo:g} > max_val {hi:g}")
    for column in ("warn_min", "warn_max", "crit_min", "crit_max"):
        v = row[column]
        if v is None:
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            errors.append(f"{where}: {column} {v:g} is outside min_val..max_val "
                          f"({'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'})")
    for a, b in (("warn_min", "warn_max"), ("crit_min", "crit_max")):
        if row[a] is not None and row[b] is not None and row[a] > row[b]:
            errors.append(f"{where}: {a} {row[a]:g} > {b} {row[b]:g}")
    for column in NON_NEGATIVE:
        if row[column] is not None and row[column] < 0:
            errors.append(f"{where}: {column} must not be negative: {row[column]:g}")
    if row["deadband_pct"] is not None and row["deadband_pct"] > 100:
        errors.append(f"{where}: deadband_pct must be 0..100: {row['deadband_pct']:g}")
    return None if len(errors) > before else row


def read_db(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(sql.SQL("SELECT {} FROM public.influx_qc_rule").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))).fetchall()
    out = {}
    for r in rows:
        row = dict(zip(COLUMNS, r))
        if row["meta"] is None:
            row["meta"] = {}
        out[row["tag_name"]] = row
    return out


@dataclass
class Drift:
    added: list[str]                                  # in the file, not in the database
    removed: list[str]                                # in the database, not in the file
    changed: dict[str, list[tuple[str, Any, Any]]]    # tag -> [(column, database, file)]

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _json_value(value: Any) -> Any:
    """meta as jsonb compares it: numbers by their decimal value, true apart from 1.

    The file's 5.477901364333874e+16 is a float, and jsonb keeps the numeric the text
    names, which reads back as the int 54779013643338740: unequal in Python, so verify
    reported drift right after a sync (found by tests/fuzz/test_fuzz_csv.py)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, float):
        return Decimal(repr(value))   # the text json.dumps sent to the server
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _same(column: str, db_value: Any, file_value: Any) -> bool:
    if column == "meta":
        return _json_value(db_value) == _json_value(file_value)
    return db_value == file_value


def diff(file_rules: dict[str, dict[str, Any]], db_rules: dict[str, dict[str, Any]]) -> Drift:
    changed = {}
    for tag in sorted(file_rules.keys() & db_rules.keys()):
        fields = [(c, db_rules[tag][c], file_rules[tag][c]) for c in COLUMNS[1:]
                  if not _same(c, db_rules[tag][c], file_rules[tag][c])]
        if fields:
            changed[tag] = fields
    return Drift(sorted(file_rules.keys() - db_rules.keys()), sorted(db_rules.keys() - file_rules.keys()), changed)


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_drift(d: Drift) -> list[str]:
    lines = [f"added (in the file, not in the database): {tag}" for tag in d.added]
    lines += [f"removed (in the database, not in the file): {tag}" for tag in d.removed]
    for tag, fields in d.changed.items():
        for column, db_value, file_value in fields:
            lines.append(f"changed {tag}.{column}: database {_show(db_value)} -> file {_show(file_value)}")
    return lines


def _params(row: dict[str, Any]) -> list[Any]:
    return [psycopg.types.json.Jsonb(row[c]) if c == "meta" else row[c] for c in COLUMNS]


def sync(dsn: str, path: Path, prune: bool = False, out: Out = print) -> int:
    rules = parse_file(Path(path))
    columns = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    upsert = sql.SQL(
        "INSERT INTO public.influx_qc_rule AS r ({cols}) VALUES ({vals}) "
        "ON CONFLICT (tag_name) DO UPDATE SET {sets} "
        "WHERE ({old}) IS DISTINCT FROM ({new}) RETURNING (xmax = 0)").format(
        cols=columns, vals=sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)),
        sets=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in COLUMNS[1:]),
        old=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in COLUMNS[1:]),
        new=sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(c)) for c in COLUMNS[1:]))
    inserted = updated = 0
    deleted: list[str] = []
    kept: list[str] = []
    try:
        with connect(dsn, autocommit=False) as conn:
            with conn.transaction():
                for row in rules.values():
                    result = conn.execute(upsert, _params(row)).fetchone()
                    if result is not None:
                        inserted += result[0]
                        updated += not result[0]
                others = "FROM public.influx_qc_rule WHERE NOT (tag_name = ANY(%s))"
                if prune:
                    deleted = sorted(r[0] for r in conn.execute(f"DELETE {others} RETURNING tag_name",
                                                                (list(rules),)))
                else:
                    kept = [r[0] for r in conn.execute(f"SELECT tag_name {others} ORDER BY tag_name",
                                                       (list(rules),))]
    except psycopg.Error as exc:
        raise db_error(exc, "database error (nothing written)") from None
    unchanged = len(rules) - inserted - updated
    for tag in deleted:
        out(f"deleted (--prune; in the database, not in the file): {tag}")
    out(f"qc sync {path}: {len(rules)} rules: {inserted} inserted, {updated} updated, {unchanged} unchanged"
        + (f", {len(deleted)} deleted (--prune)" if prune else ""))
    if kept:
        out(f"kept {len(kept)} rule(s) that are not in the file: {', '.join(kept)} "
            f"(`ksys qc sync --prune {path}` deletes them)")
    return 0


def verify(dsn: str, path: Path, out: Out = print) -> int:
    rules = parse_file(Path(path))
    try:
        with connect(dsn) as conn:
            db_rules = read_db(conn)
    except psycopg.Error as exc:
        raise db_error(exc) from None
    drift = diff(rules, db_rules)
    for line in render_drift(drift):
        out(line)
    if drift.clean:
        out(f"qc verify {path}: {len(rules)} rules, no drift")
        return 0
    out(f"qc verify {path}: drift: {len(drift.added)} added, {len(drift.removed)} removed, "
        f"{len(drift.changed)} changed ({fix_advice(drift, path)})")
    return EXIT_DRIFT


def fix_advice(drift: Drift, path: Path) -> str:
    """The sync that clears `drift`: only --prune deletes the rules that are not in the file."""
    if drift.removed:
        return (f"`ksys qc sync --prune {path}` applies the file and deletes the "
                f"{len(drift.removed)} rule(s) not in it; without --prune sync keeps them")
    return f"`ksys qc sync {path}` applies the file"
