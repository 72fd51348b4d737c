"""QC flags at ingest: the rules of influx_qc_rule, kept current, and each tag's recent history.

Rules are reloaded when they change. The check is a fingerprint of the whole table
(count and md5 of its rows, computed by the server, 40 bytes on the wire), polled
every `rules_every_s`: it sees every INSERT, UPDATE and DELETE, survives a lost
connection, and needs neither a trigger nor a LISTEN session, which a
reconnecting writer would have to re-establish and could miss notifications over.
The table holds a row per tag (tens to hundreds), so the md5 is cheap.

Histories (domain/qc_flags.TagHistory) are seeded from the newest readings in the
database when a tag gets a rule (at start, and when a reload brings a new one), so
the first reading after a restart is compared with the last one before it.
Afterwards they follow what ingest tags, database reachable or not.
"""

from __future__ import annotations

import math
from datetime import datetime
from operator import itemgetter

import psycopg

from ksys_app.domain.ingest_payloads import Reading
from ksys_app.domain.qc_flags import SPIKE_WINDOW, TagHistory, tag_reading
from ksys_app.ops.ingest.batch import Row

FINGERPRINT = ("SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r.tag_name), '')) "
               "FROM public.influx_qc_rule r")
RULES = "SELECT tag_name, to_jsonb(r) FROM public.influx_qc_rule r"
SEED = ("SELECT t.tag, h.ts, h.value FROM unnest(%s::text[]) AS t(tag) "
        "CROSS JOIN LATERAL (SELECT ts, value FROM public.influx_hist WHERE tag_name = t.tag "
        "ORDER BY ts DESC LIMIT %s) h ORDER BY t.tag, h.ts")


class QcTagger:
    def __init__(self) -> None:
        self.rules: dict[str, dict] = {}
        self.histories: dict[str, TagHistory] = {}
        self.fingerprint: tuple | None = None
        self.loaded_at: datetime | None = None

    def refresh(self, conn: psycopg.Connection, now: datetime) -> bool:
        """Reload the rules if the table changed (True), seeding the histories of tags new to them."""
        fingerprint = tuple(conn.execute(FINGERPRINT).fetchone())
        if fingerprint == self.fingerprint:
            return False
        rules = {tag: rule for tag, rule in conn.execute(RULES)}
        self.seed(conn, [tag for tag in rules if tag not in self.histories])
        self.rules, self.fingerprint, self.loaded_at = rules, fingerprint, now
        return True

    def seed(self, conn: psycopg.Connection, tags: list[str]) -> None:
        if not tags:
            return
        for tag, ts, value in conn.execute(SEED, (tags, SPIKE_WINDOW)):
            if not math.isfinite(value):
                continue
            h = self.histories.setdefault(tag, TagHistory())
            h.last_ts, h.last_value = ts, value
            h.recent.append(value)

    def tag(self, readings: list[Reading]) -> list[Row]:
        """Rows with their flags; readings are judged in time order (the order the flags assume)."""
        rows = []
        for r in sorted(readings, key=_ts):
            history = self.histories.get(r.tag)
            if history is None:
                history = self.histories[r.tag] = TagHistory()
            rule = self.rules.get(r.tag)
            if rule is None:
                # what tag_reading does without a rule, inline: no flags, the history follows
                # (most tags have no rule, and the call and its IntFlag cost more than the rest)
                if history.last_ts is None or r.ts > history.last_ts:
                    history.last_ts, history.last_value = r.ts, r.value
                    history.recent.append(r.value)
                rows.append(Row(r.ts, r.tag, r.value, 0))
            else:
                rows.append(Row(r.ts, r.tag, r.value, int(tag_reading(rule, history, r.ts, r.value))))
        return rows


_ts = itemgetter(0)   # Reading.ts
