"""`ksys tags group | list | groups`: tag groups (plant areas) in influx_qc_rule.meta.

A tag's group is the "group" key of its QC rule's meta, where the QC CSV puts it
(`ksys qc sync`). This command sets it for tags without editing the CSV: it adds
a rule row with no limits for a known tag that has none. The CSV stays the file of
record for the rules it names: `ksys qc verify` reports a group set here as drift
in meta, and the next `ksys qc sync` of a CSV row writes that row's meta as the file
has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.types.json import Jsonb

from ksys_app.domain import groups, inputs
from ksys_app.domain.groups import GROUP_KEY
from ksys_app.domain.inputs import InputError
from ksys_app.ops.db import connect
from ksys_app.ops.errors import OpsError

# Tags the plant knows: seen by the scheduler (ksys.tag_registry) or given a QC rule.
_KNOWN = """SELECT tag_name FROM ksys.tag_registry WHERE tag_name = ANY(%(tags)s)
            UNION SELECT tag_name FROM public.influx_qc_rule WHERE tag_name = ANY(%(tags)s)"""


@dataclass(frozen=True)
class TagRow:
    tag_name: str
    group: str
    unit: str
    has_rule: bool
    registered: bool


def _checked_tags(tags: tuple[str, ...] | list[str]) -> list[str]:
    if not tags:
        raise OpsError("name at least one TAG")
    try:
        return sorted({inputs.tag_name(t) for t in tags})
    except InputError as exc:
        raise OpsError(str(exc)) from None


def set_group(dsn: str, tags: list[str], group: str | None) -> tuple[int, list[str]]:
    """Put `tags` in `group` (None: take them out of their group), in one transaction.
    Returns how many rules changed and the tags that got a new (limit-free) rule row."""
    names = _checked_tags(tags)
    if group is not None:
        try:
            group = groups.group_name(group)
        except InputError as exc:
            raise OpsError(str(exc)) from None
    with connect(dsn) as conn, conn.transaction():
        known = {r[0] for r in conn.execute(_KNOWN, {"tags": names}).fetchall()}
        unknown = [t for t in names if t not in known]
        if unknown:
            raise OpsError(f"unknown tag(s), nothing changed: {', '.join(unknown[:10])}"
                           f"{' …' if len(unknown) > 10 else ''} (`ksys tags list` shows the tags)")
        if group is None:
            changed = conn.execute(
                "UPDATE public.influx_qc_rule SET meta = meta - %s::text "
                "WHERE tag_name = ANY(%s) AND meta ? %s::text", (GROUP_KEY, names, GROUP_KEY)).rowcount
            return changed, []
        rows = conn.execute(
            "INSERT INTO public.influx_qc_rule AS q (tag_name, meta) SELECT t, %s FROM unnest(%s::text[]) AS t "
            "ON CONFLICT (tag_name) DO UPDATE SET meta = coalesce(q.meta, '{}'::jsonb) || EXCLUDED.meta "
            "RETURNING q.tag_name, (xmax = 0) AS inserted",
            (Jsonb({GROUP_KEY: group}), names)).fetchall()
        return len(rows), sorted(r[0] for r in rows if r[1])


def list_tags(dsn: str, group: str | None = None) -> list[TagRow]:
    """Every known tag with its group and unit, by name; with `group`, that group's only."""
    with connect(dsn) as conn:
        rows = conn.execute(
            "SELECT t.tag_name, coalesce(q.meta->>%(g)s, ''), coalesce(q.meta->>'unit', ''), "
            "       q.tag_name IS NOT NULL, r.tag_name IS NOT NULL "
            "FROM (SELECT tag_name FROM ksys.tag_registry UNION SELECT tag_name FROM public.influx_qc_rule) t "
            "LEFT JOIN public.influx_qc_rule q ON q.tag_name = t.tag_name "
            "LEFT JOIN ksys.tag_registry r ON r.tag_name = t.tag_name "
            "WHERE %(group)s::text IS NULL OR q.meta->>%(g)s = %(group)s::text "
            "ORDER BY t.tag_name", {"g": GROUP_KEY, "group": group}).fetchall()
    return [TagRow(*r) for r in rows]


def group_counts(dsn: str) -> list[tuple[str, int]]:
    """Each group with how many tags it holds, by name."""
    with connect(dsn) as conn:
        return [(r[0], int(r[1])) for r in conn.execute(
            "SELECT meta->>%s AS g, count(*) FROM public.influx_qc_rule WHERE meta ? %s "
            "GROUP BY 1 ORDER BY 1", (GROUP_KEY, GROUP_KEY)).fetchall()]
