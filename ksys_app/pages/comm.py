"""`/comm`: 30 x 24 communication success heatmap, selected-cell detail, outages."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.controls import button, controls_bar, field, tag_select
from ksys_app.components.heatmap import detail_card, heatmap, legend
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.tables import data_table
from ksys_app.pages.template import page
from ksys_app.states.comm import CommState as S


@page("/comm", nav="Comm", heading="Communication success", state=S, order=4)
def comm() -> tuple[rx.Component, ...]:
    has_cells = S.heat.length() > 0
    start = field("Start date", rx.el.input(
        type="date", value=S.start_day, max=S.today, on_change=S.set_start, id="start-date",
        class_name="select", custom_attrs=tid("start-date"),
    ), "start-date")
    outages = rx.el.section(
        rx.el.div(rx.el.h2("Outages", class_name="section-title"),
                  rx.el.span(S.outages.length().to_string(), " in 30 days", class_name="muted small"),
                  class_name="section-head"),
        rx.cond(S.outages.length() > 0,
                data_table(["Start", "End", "Hours"], S.outages, "outage-table", "outage-row",
                           numeric_from=2, numbered=False, compact=True),
                rx.el.p("no outages in these 30 days", class_name="muted small",
                        custom_attrs=tid("no-outages"))),
        class_name="card",
    )
    return (
        controls_bar(
            tag_select(S), start,
            button("‹ Prev", S.prev_day, "prev-day"),
            button("Next ›", S.next_day, "next-day"),
            button("Recent 30 days", S.recent_30, "recent-30"),
            button("Refresh", S.refresh, "refresh-btn"),
        ),
        rx.el.div(
            rx.el.section(
                rx.el.div(rx.el.h2(S.tag, " · 30 days from ", S.start_day, class_name="section-title"),
                          status_line(S), class_name="section-head"),
                content_states(S, rx.el.div(heatmap(S), legend(S)), has_cells),
                class_name="card heat-card",
            ),
            rx.el.div(detail_card(S), class_name="side"),
            class_name="comm-layout",
        ),
        outages,
    )
