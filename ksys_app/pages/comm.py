"""`/comm`: 30 x 24 communication success heatmap, selected-cell detail, outages."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.controls import button, controls_bar, field, tag_select
from ksys_app.components.heatmap import detail_card, heatmap, legend
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.tables import data_table
from ksys_app.pages.template import page
from ksys_app.states.comm import CommState as S


def nav_button(label: str, on_click, testid: str, disabled, name: str) -> rx.Component:
    """A range step: at least 44 px high, disabled at its end of the range."""
    return rx.el.button(label, on_click=on_click, disabled=disabled, title=name,
                        class_name="btn btn-nav", custom_attrs={**tid(testid), "aria-label": name})


@page("/comm", nav="Comm", heading="Communication success", state=S, order=4)
def comm() -> tuple[rx.Component, ...]:
    has_cells = S.heat.length() > 0
    start = field("Start date", rx.el.input(
        type="date", value=S.start_day, min=S.min_start, max=S.max_start, on_change=S.set_start, id="start-date",
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
            rx.el.div(
                nav_button("« 30 d", S.prev_month, "prev-30", ~S.can_prev, "30 days earlier"),
                nav_button("‹ 1 d", S.prev_day, "prev-day", ~S.can_prev, "1 day earlier"),
                nav_button("1 d ›", S.next_day, "next-day", ~S.can_next, "1 day later"),
                nav_button("30 d »", S.next_month, "next-30", ~S.can_next, "30 days later"),
                class_name="nav-steps", custom_attrs={"role": "group", "aria-label": "move the 30 days"},
            ),
            button("Recent 30 days", S.recent_30, "recent-30", disabled=~S.can_next),
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
