"""Dashboard pieces: the SVG circular gauge, the KPI tile and the latest snapshot table."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.layout import tid
from ksys_app.components.text import t as msg  # `t` is a tile here
from ksys_app.states.lang import LangState

# Circle of radius 50 in a 120 x 120 box; pathLength=100 makes the dash length the percentage.
_R, _C = 50, 60


def gauge(pct, status, tone) -> rx.Component:
    """Ring gauge: grey track, arc of `pct` (0..100, string) coloured by the tile's tone
    (domain.kpi.Tone: nodata / neutral / normal / warn / crit)."""
    return rx.el.svg(
        rx.el.svg.circle(cx=_C, cy=_C, r=_R, class_name="gauge-track"),
        rx.el.svg.circle(
            cx=_C, cy=_C, r=_R, path_length=100,
            # a zero-length arc would still draw a dot with round line caps
            class_name=rx.cond(pct == "0.0", "gauge-arc zero", "gauge-arc t-" + tone),
            style={"stroke_dasharray": pct + " 100"},
        ),
        # no data: no position to state ("0.0%" would read as a value at the bottom of the scale)
        rx.el.svg.text(rx.cond(tone == "nodata", "-", pct + "%"), x=_C, y=_C + 6, class_name="gauge-text",
                       custom_attrs={"textAnchor": "middle"}),
        view_box="0 0 120 120", width="96", height="96", class_name="gauge",
        custom_attrs={**tid("kpi-gauge"), "role": "img",
                      "aria-label": rx.cond(tone == "nodata", msg("comm.no_data"), pct + msg("kpi.of_range")),
                      "data-status": status, "data-tone": tone, "data-pct": pct},
    )


def _stat(label: str, value) -> rx.Component:
    return rx.el.div(rx.el.span(label, class_name="stat-label"),
                     rx.el.span(value, class_name="stat-value"), class_name="stat")


def kpi_tile(t) -> rx.Component:
    """One tile from a dict of display strings (see states.dashboard.tile_cards)."""
    arrow = rx.match(t["dir"], ("up", "▲"), ("down", "▼"), "■")
    return rx.el.article(
        rx.el.div(
            rx.el.span(t["title"], class_name="kpi-title", custom_attrs=tid("kpi-title")),
            rx.el.span(
                rx.cond(t["note"] != "",
                        rx.el.span(t["note"], class_name="badge badge-neutral",
                                   title=msg("kpi.note_title"),
                                   custom_attrs=tid("kpi-note")),
                        rx.fragment()),
                rx.cond(t["range"] != "-",
                        rx.el.span(t["range"], class_name="badge badge-range", custom_attrs=tid("kpi-range")),
                        rx.fragment()),
                class_name="kpi-badges",
            ),
            class_name="kpi-head",
        ),
        rx.el.div(
            rx.el.div(
                rx.el.div(rx.el.span(t["value"], custom_attrs=tid("kpi-value")),
                          rx.cond(t["unit"] != "", rx.el.span(t["unit"], class_name="kpi-unit", custom_attrs=tid("kpi-unit")),
                                  rx.fragment()),
                          class_name="kpi-value"),
                rx.el.div(t["ts"], class_name="muted small", custom_attrs=tid("kpi-ts")),
                rx.cond(
                    t["tone"] == "nodata",
                    rx.el.div(msg("kpi.no_data_window"), class_name="muted small",
                              custom_attrs=tid("kpi-nodata")),
                    rx.el.div(
                        rx.el.span(arrow, class_name="arrow", aria_hidden="true"),
                        rx.el.span(t["delta"], custom_attrs={**tid("kpi-delta"),
                                                             "data-mode": t["delta_mode"]}),
                        rx.el.span(rx.cond(t["delta_mode"] == "abs", msg("kpi.abs"), ""),
                                   msg("kpi.from_last_bucket"), class_name="muted small"),
                        class_name="kpi-delta d-" + t["dir"],
                    ),
                ),
                class_name="kpi-main",
            ),
            gauge(t["gauge"], t["status"], t["tone"]),
            class_name="kpi-body",
        ),
        rx.el.div(
            _stat(msg("kpi.count"), t["n"]), _stat(msg("kpi.min"), t["min"]), _stat(msg("kpi.max"), t["max"]),
            _stat(msg("kpi.first"), t["first"]), _stat(msg("kpi.last"), t["last"]),
            class_name="kpi-stats",
        ),
        class_name="kpi-tile tone-" + t["tone"],
        custom_attrs={**tid("kpi-tile"), "data-tag": t["title"], "data-status": t["status"],
                      "data-tone": t["tone"]},
    )


def kpi_grid(tiles) -> rx.Component:
    return rx.el.div(rx.foreach(tiles, kpi_tile), class_name="kpi-grid", custom_attrs=tid("kpi-grid"))


def snapshot_table(rows) -> rx.Component:
    def row(r) -> rx.Component:
        return rx.el.tr(
            rx.el.td(r["tag"], class_name="tag"),
            rx.el.td(r["ts"], class_name="mono"),
            rx.el.td(rx.el.span(r["value"], custom_attrs=tid("snapshot-value")),
                     rx.cond(r["unit"] != "", rx.el.span(r["unit"], class_name="unit muted small"), rx.fragment()),
                     class_name="num"),
            rx.el.td(rx.el.span(
                rx.el.span(class_name="dot comm-" + r["comm"]), LangState.t["comm." + r["comm"]],
                class_name="comm", title=msg("comm.title") + LangState.t["comm." + r["comm"]],
                custom_attrs={"data-comm": r["comm"]})),
            rx.el.td(rx.el.span(LangState.t["alarm." + r["alarm"]], class_name="badge alarm-" + r["alarm"],
                                custom_attrs={"data-alarm": r["alarm"]})),
            custom_attrs={**tid("snapshot-row"), "data-tag": r["tag"]},
        )

    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(rx.el.th(msg("col.tag")), rx.el.th(msg("col.ts")),
                                 rx.el.th(msg("col.value"), class_name="num"),
                                 rx.el.th(msg("col.comm")), rx.el.th(msg("col.alarm")))),
            rx.el.tbody(rx.foreach(rows, row)),
            # "snapshot": layout.css reflows its rows into two lines on a phone
            class_name="table snapshot", custom_attrs=tid("snapshot-table"),
        ),
        class_name="table-wrap",
    )
