"""`/comm`: 30 x 24 communication success heatmap, selected-cell detail, outages."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.controls import button, controls_bar, field, tag_select
from ksys_app.components.heatmap import detail_card, heatmap, legend
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.tables import data_table
from ksys_app.components.text import columns, t
from ksys_app.pages.template import page
from ksys_app.states.comm import CommState as S


def nav_button(label: str, on_click, testid: str, disabled, name: str) -> rx.Component:
    """A range step: at least 44 px high, disabled at its end of the range."""
    return rx.el.button(label, on_click=on_click, disabled=disabled, title=name,
                        class_name="btn btn-nav", custom_attrs={**tid(testid), "aria-label": name})


@page("/comm", nav="Comm", heading="Communication success", state=S, order=4)
def comm() -> tuple[rx.Component, ...]:
    has_cells = S.heat.length() > 0
    start = field(t("ctl.start_date"), rx.el.input(
        type="date", value=S.start_day, min=S.min_start, max=S.max_start, on_change=S.set_start, id="start-date",
        class_name="select", custom_attrs=tid("start-date"),
    ), "start-date")
    outages = rx.el.section(
        rx.el.div(rx.el.h2(t("comm.outages"), class_name="section-title"),
                  rx.el.span(S.outages.length().to_string(), t("comm.in_30_days"), class_name="muted small"),
                  class_name="section-head"),
        rx.cond(S.outages.length() > 0,
                data_table(columns(["Start", "End", "Hours"]), S.outages, "outage-table", "outage-row",
                           numeric_from=2, numbered=False, compact=True),
                rx.el.p(t("comm.no_outages"), class_name="muted small",
                        custom_attrs=tid("no-outages"))),
        class_name="card",
    )
    return (
        controls_bar(
            tag_select(S), start,
            rx.el.div(
                nav_button(t("comm.prev30"), S.prev_month, "prev-30", ~S.can_prev, t("comm.prev30_title")),
                nav_button(t("comm.prev1"), S.prev_day, "prev-day", ~S.can_prev, t("comm.prev1_title")),
                nav_button(t("comm.next1"), S.next_day, "next-day", ~S.can_next, t("comm.next1_title")),
                nav_button(t("comm.next30"), S.next_month, "next-30", ~S.can_next, t("comm.next30_title")),
                class_name="nav-steps", custom_attrs={"role": "group", "aria-label": t("comm.move_range")},
            ),
            button(t("comm.recent30"), S.recent_30, "recent-30", disabled=~S.can_next),
            button(t("btn.refresh"), S.refresh, "refresh-btn"),
        ),
        rx.el.div(
            rx.el.section(
                rx.el.div(rx.el.h2(S.tag, t("comm.days_from"), S.start_day, class_name="section-title"),
                          status_line(S), class_name="section-head"),
                content_states(S, rx.el.div(heatmap(S), legend(S)), has_cells),
                class_name="card heat-card",
            ),
            rx.el.div(detail_card(S), class_name="side"),
            class_name="comm-layout",
        ),
        outages,
    )
