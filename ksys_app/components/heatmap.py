"""The 30 x 24 communication heatmap (local days down, local hours across) and its detail card.

The grid is one Tab stop (ARIA grid with a roving tabindex): every cell renders
with tabindex=-1 and assets/ksys.js keeps exactly one at 0, moves focus with
the arrow keys (Left/Right an hour, Up/Down a day, Home/End) and clicks the
focused cell on Enter / Space. The cell's accessible name and tooltip are
composed from its compact fields: date, hour, rate (or "no data" / "future").
"""

from __future__ import annotations

import reflex as rx

from ksys_app.components.layout import tid
from ksys_app.components.text import t

BANDS = ("ok", "warn", "crit", "none", "future")


def _two(n) -> rx.Var:
    return rx.cond(n < 10, "0", "") + n.to_string()


def _cell(state, cell, day, hour) -> rx.Component:
    index = day * 24 + hour
    now = state.now_index == index
    when = state.day_full[day] + " " + _two(hour) + ":00"
    label = rx.cond(
        cell[0] == "none",
        when + t("comm.cell_no_data"),
        rx.cond(
            cell[0] == "future",
            when + t("comm.cell_future"),
            when + " · " + cell[1] + rx.cond(now, t("comm.cell_so_far"), "") + t("comm.cell_recv") + cell[2]
            + t("comm.cell_missing") + cell[3] + t("comm.cell_last_seen") + cell[4],
        ),
    )
    selected = state.selected_index == index
    return rx.el.div(
        on_click=state.select_cell(index),
        id="cell-" + index.to_string(),
        title=label,
        class_name="hm-cell hm-" + cell[0] + rx.cond(selected, " selected", "") + rx.cond(now, " hm-now", ""),
        custom_attrs={**tid("hm-cell"), "tabIndex": -1, "role": "gridcell", "aria-label": label,
                      "aria-selected": rx.cond(selected, "true", "false"),
                      "data-i": index.to_string(), "data-band": cell[0],
                      "data-future": rx.cond(cell[0] == "future", "true", "false"),
                      "data-now": rx.cond(now, "true", "false"),
                      "data-row": day.to_string(), "data-col": hour.to_string()},
    )


def heatmap(state) -> rx.Component:
    header = rx.el.div(
        rx.el.div(t("comm.hour"), class_name="hm-corner", custom_attrs={"role": "columnheader"}),
        *[rx.el.div(f"{h:02d}", class_name="hm-hourhead", custom_attrs={"role": "columnheader"})
          for h in range(24)],
        class_name="hm-row hm-header",
        custom_attrs={"role": "row"},
    )

    def day_row(cells, day) -> rx.Component:
        return rx.el.div(
            rx.el.div(state.day_labels[day], class_name="hm-daylabel", custom_attrs={"role": "rowheader"}),
            rx.foreach(cells, lambda cell, hour: _cell(state, cell, day, hour)),
            class_name="hm-row",
            custom_attrs={"role": "row"},
        )

    return rx.el.div(
        header,
        rx.foreach(state.heat, day_row),
        class_name="heatmap",
        custom_attrs={**tid("comm-heatmap"), "role": "grid",
                      "aria-label": t("comm.grid_label")},
    )


def legend(state) -> rx.Component:
    return rx.el.div(
        *[rx.el.span(rx.el.span(class_name=f"hm-swatch hm-{band}"), t(f"comm.band_{band}"), class_name="hm-legend-item")
          for band in BANDS],
        rx.el.span(rx.el.span(class_name="hm-swatch hm-ok hm-now"), t("comm.in_progress"), class_name="hm-legend-item"),
        rx.el.span(state.slo_text, class_name="muted small"),
        class_name="hm-legend",
    )


def detail_card(state) -> rx.Component:
    s = state.selected

    def row(label: str, key: str) -> rx.Component:
        return rx.el.div(rx.el.dt(label), rx.el.dd(s[key], custom_attrs=tid(f"detail-{key}")),
                         class_name="detail-row")

    return rx.el.section(
        rx.el.h2(t("comm.selected"), class_name="section-title"),
        rx.cond(
            state.selected_index >= 0,
            rx.el.dl(
                row(t("comm.local_time"), "when"), row(t("comm.rate"), "rate"), row(t("comm.received"), "recv"),
                row(t("comm.expected"), "exp"), row(t("comm.missing"), "missing"),
                row(t("comm.last_seen"), "last_seen"), row(t("comm.utc_hour"), "utc"),
                class_name="detail",
            ),
            rx.el.p(t("comm.pick"),
                    class_name="muted small"),
        ),
        class_name="card detail-card",
        custom_attrs=tid("detail-card"),
    )
