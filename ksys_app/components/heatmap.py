"""The 30 x 24 communication heatmap (days across, local hours down) and its detail card.

Cells are buttons-in-spirit (role=button, tabindex=0): Enter / Space select a
cell and the arrow keys move between cells (assets/ksys.js). The tooltip is
the title attribute, composed from the cell's compact fields.
"""

from __future__ import annotations

import reflex as rx

from ksys_app.components.layout import tid

BANDS = (("ok", "ok"), ("warn", "warn"), ("crit", "crit"), ("none", "no data"))


def _cell(state, cell, col, hour) -> rx.Component:
    index = col * 24 + hour
    when = state.day_full[col] + " " + rx.cond(hour < 10, "0", "") + hour.to_string() + ":00"
    title = rx.cond(
        cell[0] == "none",
        when + " · no data",
        when + " · " + cell[1] + " · recv/exp " + cell[2] + " · missing " + cell[3]
        + " · last seen " + cell[4],
    )
    return rx.el.div(
        on_click=state.select_cell(index),
        id="cell-" + index.to_string(),
        title=title,
        class_name=rx.cond(state.selected_index == index, "hm-cell hm-" + cell[0] + " selected",
                           "hm-cell hm-" + cell[0]),
        custom_attrs={**tid("hm-cell"), "tabIndex": 0, "role": "button", "aria-label": title,
                      "data-i": index.to_string(), "data-band": cell[0],
                      "data-row": hour.to_string(), "data-col": col.to_string()},
    )


def heatmap(state) -> rx.Component:
    header = rx.el.div(
        rx.el.div(class_name="hm-corner"),
        rx.foreach(state.day_labels, lambda d: rx.el.div(d, class_name="hm-day")),
        class_name="hm-row hm-header",
    )

    def hour_row(cells, hour) -> rx.Component:
        return rx.el.div(
            rx.el.div(rx.cond(hour < 10, "0", "") + hour.to_string() + "h", class_name="hm-hour"),
            rx.foreach(cells, lambda cell, col: _cell(state, cell, col, hour)),
            class_name="hm-row",
        )

    return rx.el.div(
        header,
        rx.foreach(state.heat, hour_row),
        class_name="heatmap",
        custom_attrs={**tid("comm-heatmap"), "role": "grid", "aria-label": "success rate by day and hour"},
    )


def legend(state) -> rx.Component:
    return rx.el.div(
        *[rx.el.span(rx.el.span(class_name=f"hm-swatch hm-{band}"), label, class_name="hm-legend-item")
          for band, label in BANDS],
        rx.el.span(state.slo_text, class_name="muted small"),
        class_name="hm-legend",
    )


def detail_card(state) -> rx.Component:
    s = state.selected

    def row(label: str, key: str) -> rx.Component:
        return rx.el.div(rx.el.dt(label), rx.el.dd(s[key], custom_attrs=tid(f"detail-{key}")),
                         class_name="detail-row")

    return rx.el.section(
        rx.el.h2("Selected hour", class_name="section-title"),
        rx.cond(
            state.selected_index >= 0,
            rx.el.dl(
                row("Local time", "when"), row("Success rate", "rate"), row("Received", "recv"),
                row("Expected", "exp"), row("Missing", "missing"), row("Last seen", "last_seen"),
                row("UTC hour", "utc"),
                class_name="detail",
            ),
            rx.el.p("Click a cell (or focus it and press Enter) to see its numbers.",
                    class_name="muted small"),
        ),
        class_name="card detail-card",
        custom_attrs=tid("detail-card"),
    )
