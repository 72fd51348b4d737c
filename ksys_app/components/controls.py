"""Form controls: window / tag / group selects, the search box, buttons, pager."""

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
    """The tag picker: a filter box (part of a name, any case) that narrows the select's
    options (state.tag_choices), so one tag among thousands is a few letters away."""
    return rx.fragment(
        field(t("ctl.tag_filter"), rx.el.input(
            value=state.tag_filter, on_change=state.set_tag_filter, id="tag-filter", type="search",
            placeholder=t("ctl.tag_filter_hint"), auto_complete="off", max_length=128,
            class_name="select input tag-filter", custom_attrs=tid("tag-filter"),
        ), "tag-filter"),
        field(t("ctl.tag"), rx.el.select(
            rx.foreach(state.tag_choices, lambda t: rx.el.option(t, value=t)),
            more_option(state),
            value=state.tag, on_change=state.set_tag, id="tag-select",
            class_name="select", custom_attrs=tid("tag-select"),
        ), "tag-select"),
    )


def more_option(state) -> rx.Component:
    """A picker's last line when it lists only some of the matching tags (disabled: it
    says how many more there are, and that the filter box finds them)."""
    return rx.cond(state.tag_choices_more != "", rx.el.option(state.tag_choices_more, value="", disabled=True,
                                                              custom_attrs=tid("tag-more")))


def group_select(state) -> rx.Component:
    """/'s group (plant area) picker: "All groups" and each group of the QC rules."""
    return field(t("dash.group"), rx.el.select(
        rx.el.option(t("dash.all_groups"), value=""),
        rx.foreach(state.group_options, lambda g: rx.el.option(g, value=g)),
        value=state.group, on_change=state.set_group, id="group-select",
        class_name="select", custom_attrs=tid("group-select"),
    ), "group-select")


def search_box(value, on_change, on_submit, on_clear, prefix: str, label_key: str) -> rx.Component:
    """A search field applied on Enter or its button (not on every key: each search is a read)."""
    return rx.el.form(
        field(t(label_key), rx.el.input(
            value=value, on_change=on_change, id=f"{prefix}-search", name="q", type="search",
            auto_complete="off", class_name="select input search-input", custom_attrs=tid(f"{prefix}-search"),
        ), f"{prefix}-search"),
        rx.el.button(t("dash.search_btn"), type="submit", class_name="btn", custom_attrs=tid(f"{prefix}-search-btn")),
        rx.el.button(t("dash.search_clear"), type="button", on_click=on_clear, class_name="btn",
                     custom_attrs=tid(f"{prefix}-search-clear")),
        on_submit=on_submit, reset_on_submit=False, class_name="search-form",
    )


def button(label, on_click, testid: str, primary: bool = False, **props) -> rx.Component:
    return rx.el.button(label, on_click=on_click, class_name="btn" + (" btn-primary" if primary else ""),
                        custom_attrs=tid(testid), **props)


def pager(page, page_count, on_prev, on_next, total, prefix: str, unit_key: str = "pager.rows") -> rx.Component:
    """"‹ Prev  page 2 / 7 · 320 rows  Next ›" for a server-side paginated table."""
    return rx.el.div(
        rx.el.button(t("pager.prev"), on_click=on_prev, disabled=page <= 0, class_name="btn btn-small",
                     custom_attrs=tid(f"{prefix}-prev")),
        rx.el.span(t("pager.page"), (page + 1).to_string(), " / ", page_count.to_string(),
                   class_name="muted small", custom_attrs=tid(f"{prefix}-page")),
        rx.el.span(total.to_string(), t(unit_key), class_name="muted small",
                   custom_attrs={**tid(f"{prefix}-count"), "data-count": total.to_string()}),
        rx.el.button(t("pager.next"), on_click=on_next, disabled=page >= page_count - 1,
                     class_name="btn btn-small", custom_attrs=tid(f"{prefix}-next")),
        class_name="pager",
    )


def controls_bar(*children: rx.Component) -> rx.Component:
    return rx.el.div(*children, class_name="controls", custom_attrs=tid("controls"))
