"""`/trend`: tag + window (or an absolute range), series toggles, chart, history table, 5-minute features."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.charts import PEN_COLOURS, line_chart, series_checkbox
from ksys_app.components.controls import button, controls_bar, field, more_option, pager, tag_select, window_select
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.tables import data_table
from ksys_app.components.text import columns, t
from ksys_app.pages.template import page
from ksys_app.states.trend import CHART_KEYS, FEATURES_HEADER, HISTORY_HEADER, PEN_KEYS
from ksys_app.states.trend import TrendState as S

SERIES = tuple((key, t(f"series.{key}")) for key in ("avg", "min", "max", "last", "first"))


def _shown(key: str):
    return getattr(S, f"show_{key}")


def _toggles() -> rx.Component:
    return rx.el.div(
        *[series_checkbox(key, name, _shown(key), lambda v, k=key: S.set_series(k, v))
          for key, name in SERIES],
        class_name="toggles", custom_attrs=tid("series-toggles"),
    )


def _pen_entry(pen, index) -> rx.Component:
    """One pen of the legend: its colour, tag and unit; the page's tag (first) is changed
    with the tag picker, the others can be removed."""
    colour = rx.Var.create(list(PEN_COLOURS))[index]
    return rx.el.span(
        rx.el.span(class_name="swatch", style={"background": colour}),
        rx.el.span(pen["tag"], pen["unit"], class_name="pen-name"),
        rx.cond(pen["error"] != "", rx.el.span(pen["error"], class_name="badge badge-warn"), rx.el.span("")),
        rx.cond(index > 0, rx.el.button("×", on_click=S.remove_pen(pen["tag"]), class_name="btn btn-small pen-remove",
                                        title=t("trend.remove_pen"), aria_label=t("trend.remove_pen"),
                                        custom_attrs=tid("pen-remove")), rx.el.span("")),
        class_name="pen", custom_attrs={**tid("pen"), "data-tag": pen["tag"]},
    )


def _pens() -> rx.Component:
    """The pens legend, "add a pen" and the own-scale toggle (one tag: only "add")."""
    return rx.el.div(
        rx.foreach(S.pen_legend, _pen_entry),
        rx.cond(S.pen_choices.length() > 0, rx.el.select(
            rx.el.option(t("trend.add_pen"), value=""),
            rx.foreach(S.pen_choices, lambda tag: rx.el.option(tag, value=tag)),
            more_option(S),
            value="", on_change=S.add_pen, class_name="select", aria_label=t("trend.add_pen"),
            custom_attrs=tid("add-pen")), rx.el.span("")),
        rx.cond(S.pen_count > 1, rx.el.label(
            rx.el.input(type="checkbox", checked=S.own_scales, on_change=S.set_own_scales, id="own-scales",
                        custom_attrs=tid("own-scales")),
            t("trend.own_scales"), html_for="own-scales", class_name="check"), rx.el.span("")),
        class_name="toggles pens", custom_attrs=tid("pens"),
    )


def _pen_chart() -> rx.Component:
    # pen_legend comes with the chart's points (pens_param with the URL, a read sooner)
    series = [(f"pen{i}", PEN_KEYS[i], S.pen_legend[i]["tag"].to(str), S.pen_legend.length() > i, False)
              for i in range(len(PEN_KEYS))]
    units = [S.pen_legend[i]["unit"].to(str) for i in range(len(PEN_KEYS))]
    return line_chart(S.chart, series, "trend-chart", S, units=units, own_scales=S.own_scales)


def _history() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.h2(t("trend.history"), class_name="section-title"),
            rx.el.div(
                button(t("btn.csv"), S.download_csv, "csv-btn"),
                class_name="row-gap",
            ),
            class_name="section-head",
        ),
        data_table(columns(HISTORY_HEADER), S.rows_page, "history-table", "history-row"),
        pager(S.page, S.page_count, S.prev_page, S.next_page, S.row_count, "history"),
    )


def _range_input(which: str) -> rx.Component:
    """A local date and time (the plant's zone), as the browser's own picker offers it."""
    return field(t(f"trend.range_{which}"), rx.el.input(
        type="datetime-local", value=getattr(S, f"range_{which}_input"),
        on_change=lambda v: S.set_range_input(which, v), id=f"range-{which}",
        class_name="select", custom_attrs=tid(f"range-{which}")), f"range-{which}")


def _range_controls() -> rx.Component:
    return rx.el.div(
        _range_input("from"), _range_input("to"),
        button(t("trend.range_apply"), S.show_range, "range-apply"),
        rx.cond(S.range_from != "", button(t("trend.range_clear"), S.clear_range, "range-clear"), rx.el.span("")),
        rx.el.div(
            button(t("trend.pan_earlier"), S.pan(-1), "pan-earlier", title=t("trend.pan_earlier_title")),
            button(t("trend.zoom_out"), S.zoom_out, "zoom-out", title=t("trend.zoom_out_title")),
            button(t("trend.pan_later"), S.pan(1), "pan-later", title=t("trend.pan_later_title")),
            class_name="row-gap zoom-buttons"),
        # assets/zoom.js writes a drag's range here; React's onChange sends it (never shown)
        rx.el.input(id="zoom-request", on_change=S.zoom_to, class_name="visually-hidden", tab_index=-1,
                    aria_hidden="true", custom_attrs=tid("zoom-request")),
        class_name="controls range-controls", custom_attrs=tid("range-controls"),
    )


def _series_head(has_rows) -> rx.Component:
    return rx.el.div(
        rx.cond(S.range_from != "",
                rx.el.h2(S.tag, " · ", S.range_from, " – ",
                         rx.cond(S.range_to == "now", t("trend.range_now"), S.range_to),
                         class_name="section-title", custom_attrs=tid("range-title")),
                rx.el.h2(S.tag, t("trend.last"), S.window, class_name="section-title")),
        status_line(
            S,
            rx.cond(has_rows, rx.el.span(
                t("trend.bucket"), S.bucket_label,
                rx.cond(S.merged_from != "", rx.el.span(t("trend.merged_from"), S.merged_from, t("trend.rollup")),
                        rx.el.span("")),
                class_name="badge badge-info", custom_attrs=tid("bucket-width")),
                rx.el.span("")),
            rx.cond(S.truncated, rx.el.span(t("trend.truncated"), class_name="badge badge-warn"),
                    rx.el.span("")),
        ),
        class_name="section-head",
    )


def _features() -> rx.Component:
    return rx.el.section(
        rx.el.div(
            rx.el.h2(t("trend.features"), class_name="section-title"),
            rx.el.span(t("trend.features_note"), class_name="muted small"),
            class_name="section-head",
        ),
        rx.cond(S.features_error != "",
                rx.el.div(S.features_error, class_name="error-inline", custom_attrs=tid("features-error")),
                rx.el.span("")),
        rx.cond(S.features_count > 0,
                rx.el.div(
                    data_table(columns(FEATURES_HEADER), S.features_page, "features-table", "features-row"),
                    pager(S.fpage, S.fpage_count, S.prev_fpage, S.next_fpage, S.features_count,
                          "features"),
                ),
                rx.cond(S.loading | (S.features_error != ""), rx.el.span(""),
                        rx.el.p(S.features_empty_text, class_name="muted small",
                                custom_attrs=tid("features-empty")))),
        class_name="card",
    )


@page("/trend", nav="Trend", heading="Trend", state=S, order=2)
def trend() -> tuple[rx.Component, ...]:
    has_rows = S.row_count > 0
    one_tag = line_chart(S.chart, [(k, CHART_KEYS[k], n, _shown(k), False) for k, n in SERIES], "trend-chart", S)
    several = S.pen_legend.length() > 1
    chart = rx.cond(several, _pen_chart(), one_tag)
    return (
        controls_bar(tag_select(S), window_select(S), button(t("btn.refresh"), S.refresh, "refresh-btn")),
        _range_controls(),
        rx.el.section(
            _series_head(has_rows),
            rx.cond(several, rx.el.span(""), _toggles()),
            _pens(),
            rx.cond(several, rx.el.p(rx.cond(S.own_scales, t("trend.own_scales_note"), t("trend.pens_avg")),
                                     class_name="muted small", custom_attrs=tid("pens-note")), rx.el.span("")),
            content_states(S, rx.el.div(
                rx.el.div(chart, class_name="zoomable",
                          custom_attrs={"data-first-ms": S.span_first_ms.to_string(),
                                        "data-last-ms": S.span_last_ms.to_string(), **tid("zoomable")}),
                rx.el.p(t("trend.zoom_hint"), class_name="muted small zoom-hint"),
                rx.cond(S.alarm_areas.length() > 0,
                        rx.el.p(t("trend.alarm_marks"), class_name="muted small", custom_attrs=tid("alarm-marks-note")),
                        rx.el.span("")),
                _history()), has_rows),
            class_name="card",
        ),
        _features(),
    )
