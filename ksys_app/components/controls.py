"""Form controls: window / tag selects, buttons, pager."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.layout import tid
from ksys_app.components.text import t
from ksys_app.domain.windows import WINDOW_CODES


def field(label, control: rx.Component, for_id: str) -> rx.Component:
    return rx.el.label(rx.el.span(label, class_name="field-label"), control, html_for=for_id,
                       class_name="field")


def window_select(state) -> rx.Component:
    return field(t("ctl.window"), rx.el.select(
        *[rx.el.option(code, value=code) for code in WINDOW_CODES],
        value=state.window, on_change=state.set_window, id="window-select",
        class_name="select", custom_attrs=tid("window-select"),
    ), "window-select")


def tag_select(state) -> rx.Component:
    return field(t("ctl.tag"), rx.el.select(
        rx.foreach(state.tag_options, lambda t: rx.el.option(t, value=t)),
        value=state.tag, on_change=state.set_tag, id="tag-select",
        class_name="select", custom_attrs=tid("tag-select"),
    ), "tag-select")


def button(label, on_click, testid: str, primary: bool = False, **props) -> rx.Component:
    return rx.el.button(label, on_click=on_click, class_name="btn" + (" btn-primary" if primary else ""),
                        custom_attrs=tid(testid), **props)


def pager(page, page_count, on_prev, on_next, total, prefix: str) -> rx.Component:
    """"‹ Prev  page 2 / 7 · 320 rows  Next ›" for a server-side paginated table."""
    return rx.el.div(
        rx.el.button(t("pager.prev"), on_click=on_prev, disabled=page <= 0, class_name="btn btn-small",
                     custom_attrs=tid(f"{prefix}-prev")),
        rx.el.span(t("pager.page"), (page + 1).to_string(), " / ", page_count.to_string(),
                   class_name="muted small", custom_attrs=tid(f"{prefix}-page")),
        rx.el.span(total.to_string(), t("pager.rows"), class_name="muted small",
                   custom_attrs={**tid(f"{prefix}-count"), "data-count": total.to_string()}),
        rx.el.button(t("pager.next"), on_click=on_next, disabled=page >= page_count - 1,
                     class_name="btn btn-small", custom_attrs=tid(f"{prefix}-next")),
        class_name="pager",
    )


def controls_bar(*children: rx.Component) -> rx.Component:
    return rx.el.div(*children, class_name="controls", custom_attrs=tid("controls"))
