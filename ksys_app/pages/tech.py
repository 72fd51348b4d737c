"""`/tech`: SMA 10/60 and Bollinger bands chart with legend toggles, indicator table."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.charts import legend_toggle, line_chart
from ksys_app.components.controls import button, controls_bar, pager, tag_select, window_select
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.tables import data_table
from ksys_app.components.text import columns, t
from ksys_app.pages.template import page
from ksys_app.states.tech import CHART_KEYS, TECH_HEADER
from ksys_app.states.tech import TechState as S

SERIES = tuple((key, t(f"series.{key}"), dashed) for key, dashed in
               (("avg", False), ("bb_bot", True), ("bb_top", True), ("sma_10", False), ("sma_60", False)))


def _shown(key: str):
    return getattr(S, f"show_{key}")


@page("/tech", nav="Tech", heading="Tech indicators", state=S, order=3)
def tech() -> tuple[rx.Component, ...]:
    has_rows = S.row_count > 0
    legend = rx.el.div(
        *[legend_toggle(key, name, _shown(key), S.toggle_series(key)) for key, name, _ in SERIES],
        class_name="toggles", custom_attrs=tid("legend"),
    )
    chart = line_chart(S.chart, [(k, CHART_KEYS[k], n, _shown(k), d) for k, n, d in SERIES], "tech-chart", S)
    table = rx.el.div(
        rx.el.div(
            rx.el.h2(t("tech.table"), class_name="section-title"),
            button(t("btn.csv"), S.download_csv, "csv-btn"),
            class_name="section-head",
        ),
        data_table(columns(TECH_HEADER), S.rows_page, "tech-table", "tech-row"),
        pager(S.page, S.page_count, S.prev_page, S.next_page, S.row_count, "tech"),
    )
    return (
        controls_bar(tag_select(S), window_select(S), button(t("btn.refresh"), S.refresh, "refresh-btn")),
        rx.el.section(
            rx.el.div(
                rx.el.h2(S.tag, t("trend.last"), S.window, class_name="section-title"),
                status_line(
                    S,
                    rx.cond(has_rows, rx.el.span(
                        rx.cond(S.is_sampled, rx.el.span(t("tech.sampled"), S.spacing_label),
                                rx.el.span(t("tech.every_row"), S.spacing_label, t("tech.every_row_end"))),
                        class_name="badge badge-info", custom_attrs=tid("tech-spacing")),
                        rx.el.span("")),
                    rx.cond(S.truncated, rx.el.span(t("trend.truncated"), class_name="badge badge-warn"),
                            rx.el.span("")),
                ),
                class_name="section-head",
            ),
            legend,
            content_states(S, rx.el.div(chart, table), has_rows),
            class_name="card",
        ),
    )
