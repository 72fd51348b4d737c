"""Line charts over a list of points; only the series that are switched on are rendered."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.components.component import MemoizationLeaf

from ksys_app.components.layout import tid

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {
    "avg": "#0072B2", "min": "#009E73", "max": "#D55E00", "last": "#CC79A7", "first": "#E69F00",
    "sma_10": "#009E73", "sma_60": "#D55E00", "bb_top": "#56B4E9", "bb_bot": "#E69F00",
}


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


def line(key: str, data_key: str, name: str, dashed: bool = False) -> rx.Component:
    return rx.recharts.line(
        data_key=data_key, name=name, stroke=COLOURS[key], stroke_width=1.6, dot=False,
        is_animation_active=False, type_="linear", connect_nulls=False,
        stroke_dasharray="5 3" if dashed else None,
        class_name=f"series-{key}",
    )


def line_chart(data, series: list[tuple[str, str, str, object, bool]], testid: str,
               height: int = 340) -> rx.Component:
    """series: (series key, data key in the points, legend name, Var[bool] shown, dashed)."""
    return rx.el.div(
        LineChart.create(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", stroke="#e5e7eb"),
            rx.recharts.x_axis(data_key="t", min_tick_gap=40, tick_line=False,
                               stroke="#6b7280", font_size=12),
            rx.recharts.y_axis(domain=["auto", "auto"], width=72, stroke="#6b7280", font_size=12),
            rx.recharts.graphing_tooltip(is_animation_active=False),
            *[rx.cond(shown, line(key, data_key, name, dashed))
              for key, data_key, name, shown, dashed in series],
            data=data, responsive=True, width="100%", height=height,
            margin={"top": 8, "right": 16, "left": 0, "bottom": 4},
        ),
        class_name="chart",
        custom_attrs={**tid(testid), "data-points": data.length().to_string()},
    )


def legend_toggle(key: str, name: str, shown, on_click) -> rx.Component:
    """A legend entry that switches its series on and off (aria-pressed)."""
    return rx.el.button(
        rx.el.span(class_name="swatch", style={"background": COLOURS[key]}),
        name,
        on_click=on_click,
        class_name=rx.cond(shown, "legend-btn on", "legend-btn off"),
        custom_attrs={**tid(f"legend-{key}"), "aria-pressed": rx.cond(shown, "true", "false")},
    )


def series_checkbox(key: str, name: str, checked, on_change) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", checked=checked, on_change=on_change, id=f"toggle-{key}",
                    custom_attrs=tid(f"toggle-{key}")),
        rx.el.span(class_name="swatch", style={"background": COLOURS[key]}),
        name,
        html_for=f"toggle-{key}",
        class_name="check",
    )
