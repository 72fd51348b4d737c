"""Line charts over a list of points; only the series that are switched on are rendered.

Each point's "t" is its full local label ("2026-12-01 19:30+09:00", from
domain.timefmt.format_local_point): the tooltip shows it as it is, the x axis
shows a slice of it. The tooltip's label and order are JS functions, since
recharts cannot call back into Python.
"""

from __future__ import annotations

import json
from functools import reduce
from typing import Any

import reflex as rx
from reflex.components.component import MemoizationLeaf
from reflex_components_recharts.general import GraphingTooltip

from ksys_app.components.layout import tid
from ksys_app.components.text import t

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {
    "avg": "#0072B2", "min": "#009E73", "max": "#D55E00", "last": "#CC79A7", "first": "#E69F00",
    "sma_10": "#009E73", "sma_60": "#D55E00", "bb_top": "#56B4E9", "bb_bot": "#E69F00",
}
# The pens of a several-tag /trend chart, by position: Okabe-Ito, then two of Paul Tol's
# (Okabe-Ito's yellow and black vanish on the light and the dark theme).
PEN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#117733")
COLOURS.update({f"pen{i}": c for i, c in enumerate(PEN_COLOURS)})


class LineChart(MemoizationLeaf):
    """Recharts' LineChart, imported with the page and sized by recharts itself.

    rx.recharts.line_chart loads the chart client-side only (it renders nothing
    until an effect after the next paint has imported it) inside a
    ResponsiveContainer that in turn waits for an effect to measure its div: the
    lines were drawn two render passes and at least one frame after the data
    arrived. Here the chart renders with the data, and its `responsive` mode
    measures its div in the same commit (70-130 ms sooner on a 24 h chart). A
    memoization leaf like Reflex's charts: the series stay direct children of the
    chart.
    """

    library = rx.recharts.LineChart.library  # the recharts version Reflex pins
    tag = "LineChart"
    alias = "RechartsLineChartNow"

    data: rx.Var[list[dict[str, Any]]]
    margin: rx.Var[dict[str, Any]]
    responsive: rx.Var[bool]
    width: rx.Var[str | int]
    height: rx.Var[int]


class Tooltip(GraphingTooltip):
    """Recharts' Tooltip with the two props Reflex's wrapper leaves out."""

    # (item) => sort key of an entry; recharts sorts entries by name by default,
    # which put "Max" above "Average" - another order than the legend's.
    item_sorter: rx.Var[Any]
    # (label, payload) => the tooltip heading
    label_formatter: rx.Var[Any]


# X-axis ticks per ChartTable.chart_axis: slices of "YYYY-MM-DD HH:mm[:ss]+09:00".
TICK_SLICES = {"min": (11, 16), "day": (5, 16), "sec": (11, 19)}
# The heading with the partial-bucket note of the point (its "p", only on a partial newest point
# or a gap marker).
# An alarm active at the point (its "al", /trend) follows on the same line.
LABEL_WITH_NOTE = ("(label, payload) => { const d = payload && payload[0] && payload[0].payload;"
                   " const notes = d ? [d.p, d.al].filter(Boolean) : [];"
                   " return notes.length ? `${label} · ${notes.join(' · ')}` : label; }")


def _x_axis(fmt: str, ticks) -> rx.Component:
    """`ticks`: the labels offered (ChartTable.chart_ticks, a few of the points), so
    recharts measures those instead of every point's label."""
    a, b = TICK_SLICES[fmt]
    return rx.recharts.x_axis(data_key="t", ticks=ticks, min_tick_gap=40, tick_line=False, stroke="#6b7280",
                              font_size=12, tick_formatter=f"(v) => String(v).slice({a}, {b})")


def _tooltip(data_keys: list[str]) -> rx.Component:
    order = json.dumps(data_keys)
    return Tooltip.create(is_animation_active=False,
                          item_sorter=rx.Var(_js_expr=f"(item) => {order}.indexOf(item.dataKey)"),
                          label_formatter=rx.Var(_js_expr=LABEL_WITH_NOTE))


def line(key: str, data_key: str, name, dashed: bool = False, dots: Any = False, unit: Any = "",
         y_axis: Any = None) -> rx.Component:
    axis = {} if y_axis is None else {"y_axis_id": y_axis}
    return rx.recharts.line(
        **axis, data_key=data_key, name=name, stroke=COLOURS[key], stroke_width=1.6, dot=dots,
        is_animation_active=False, type_="linear", connect_nulls=False,
        stroke_dasharray="5 3" if dashed else None,
        class_name=f"series-{key}",
        # recharts' own prop (Reflex's wrapper leaves it out): the tooltip writes it after the value
        custom_attrs={"unit": unit},
    )


def line_chart(data, series: list[tuple[str, str, str, object, bool]], testid: str, marks,
               height: int = 340, units: list | None = None, own_scales: Any = None) -> rx.Component:
    """series: (series key, data key in the points, legend name, Var[bool] shown, dashed);
    marks: the page state (a ChartTable) whose chart_axis / chart_ticks / chart_dots / partial_* apply.
    units: a unit per series (default: the page's unit_suffix for all); own_scales: a Var[bool]
    that puts series i on a hidden axis of its own ("y{i}"), each scaled to its own range."""
    any_shown = reduce(lambda a, b: a | b, [shown for _, _, _, shown, _ in series])
    units = units or [marks.unit_suffix] * len(series)
    scaled = own_scales is not None
    own_axes = [rx.recharts.y_axis(y_axis_id=f"y{i}", hide=True, domain=["auto", "auto"])
                for i in range(len(series))] if scaled else []
    return rx.el.div(
        LineChart.create(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", stroke="#e5e7eb"),
            rx.cond(marks.chart_axis == "day", _x_axis("day", marks.chart_ticks),
                    rx.cond(marks.chart_axis == "sec", _x_axis("sec", marks.chart_ticks),
                            _x_axis("min", marks.chart_ticks))),
            # interval 0: every tick of the few the y axis has, without measuring their labels
            rx.recharts.y_axis(domain=["auto", "auto"], width=72, interval=0, stroke="#6b7280", font_size=12,
                               unit=marks.axis_unit, **({"hide": own_scales} if scaled else {})),
            *own_axes,
            _tooltip([data_key for _, data_key, _, _, _ in series]),
            *[rx.cond(shown, line(key, data_key, name, dashed, marks.chart_dots, unit,
                                  rx.cond(own_scales, f"y{i}", 0) if scaled else None))
              for i, ((key, data_key, name, shown, dashed), unit) in enumerate(zip(series, units))],
            # where the tag's alarms were active (pages with alarm_areas: /trend)
            *([rx.foreach(marks.alarm_areas, lambda a: rx.recharts.reference_area(
                x1=a["x1"], x2=a["x2"], if_overflow="extendDomain", stroke="none",
                fill=rx.cond(a["level"] == "high", "#dc2626", "#d97706"), fill_opacity=0.14,
                class_name=rx.cond(a["level"] == "high", "alarm-area alarm-area-high", "alarm-area alarm-area-medium"),
            ))] if hasattr(marks, "alarm_areas") else []),
            rx.cond(marks.partial_t != "", rx.recharts.reference_line(
                rx.recharts.label(value=t("chart.partial"), position="insideTopRight", fill="#4b5563", font_size=12),
                x=marks.partial_t, stroke="#6b7280", stroke_dasharray="2 3",
                if_overflow="extendDomain", class_name="partial-mark")),
            data=data, responsive=True, width="100%", height=height,
            margin={"top": 8, "right": 16, "left": 0, "bottom": 4},
        ),
        rx.cond(~any_shown, rx.el.div(t("chart.all_hidden"), class_name="chart-hint",
                                      custom_attrs=tid(f"{testid}-hint"))),
        rx.cond(marks.partial_note != "", rx.el.div(
            t("chart.newest"), marks.partial_note, class_name="chart-partial muted small",
            custom_attrs=tid(f"{testid}-partial"))),
        class_name="chart",
        custom_attrs={**tid(testid), "data-points": marks.chart_points_drawn.to_string(), "data-unit": marks.unit_suffix,
                      "data-gaps": (data.length() - marks.chart_points_drawn).to_string()},
    )


def legend_toggle(key: str, name, shown, on_click) -> rx.Component:
    """A legend entry that switches its series on and off (aria-pressed)."""
    return rx.el.button(
        rx.el.span(class_name="swatch", style={"background": COLOURS[key]}),
        name,
        on_click=on_click,
        class_name=rx.cond(shown, "legend-btn on", "legend-btn off"),
        custom_attrs={**tid(f"legend-{key}"), "aria-pressed": rx.cond(shown, "true", "false")},
    )


def series_checkbox(key: str, name, checked, on_change) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", checked=checked, on_change=on_change, id=f"toggle-{key}",
                    custom_attrs=tid(f"toggle-{key}")),
        rx.el.span(class_name="swatch", style={"background": COLOURS[key]}),
        name,
        html_for=f"toggle-{key}",
        class_name="check",
    )
