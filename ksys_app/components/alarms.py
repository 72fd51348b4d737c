"""The alarm pieces: the bar under the navbar (banner, login), the active list, the journal,
the login form. They render only; AlarmsState, AuthState and AlarmBannerState compose.

Notes and every other value render as text (React text nodes): markup in a note stays
markup on the screen and never runs. ISA-101: colour only where something is abnormal
(an unacknowledged high alarm red, medium amber); acknowledged and shelved ones grey.
"""

from __future__ import annotations

import reflex as rx
from reflex.components.react_router import ReactRouterLink

from ksys_app.components.layout import tid
from ksys_app.components.text import t
from ksys_app.domain.alarm_view import PRIORITY_FILTERS, STATE_FILTERS
from ksys_app.domain.operators import MAX_NOTE, SHELVE_MINUTES
from ksys_app.states.alarm_banner import AlarmBannerState as B
from ksys_app.states.auth import AuthState as A


def banner() -> rx.Component:
    """Unacknowledged high / medium alarms, a link to /alarms; quiet grey when there are none."""
    counts = rx.el.span(
        rx.el.span(t("banner.label"), class_name="banner-label"),
        rx.cond(B.high > 0, rx.el.span(t("banner.high"), " ", rx.el.b(B.high.to_string()),
                                       class_name="banner-count banner-high", custom_attrs=tid("banner-high")),
                rx.el.span("")),
        rx.cond(B.medium > 0, rx.el.span(t("banner.medium"), " ", rx.el.b(B.medium.to_string()),
                                         class_name="banner-count banner-medium",
                                         custom_attrs=tid("banner-medium")),
                rx.el.span("")),
        class_name="banner-counts",
    )
    return ReactRouterLink.create(
        rx.cond(B.total > 0, counts, rx.cond(B.known, rx.el.span(t("banner.none")), rx.el.span(t("nav./alarms")))),
        to="/alarms",
        class_name=rx.cond(B.high > 0, "alarm-banner banner-on banner-on-high",
                           rx.cond(B.medium > 0, "alarm-banner banner-on", "alarm-banner")),
        custom_attrs={**tid("alarm-banner"), "data-high": B.high.to_string(), "data-medium": B.medium.to_string(),
                      "aria-live": "polite", "title": t("banner.label")},
    )


def auth_control() -> rx.Component:
    """The logged-in operator and Log out, or a Log in link (to /login, back here after)."""
    return rx.cond(
        A.logged_in,
        rx.el.span(
            rx.el.span(t("auth.as"), rx.el.b(A.display_name), class_name="auth-who",
                       custom_attrs={**tid("auth-operator"), "data-operator": A.operator}),
            rx.el.button(t("auth.log_out"), on_click=A.logout, class_name="btn btn-small",
                         custom_attrs=tid("logout-btn")),
            class_name="auth-ctl",
        ),
        rx.cond(A.actions_configured,
                ReactRouterLink.create(t("auth.log_in"), to="/login", class_name="btn btn-small auth-link",
                                       custom_attrs=tid("login-link")),
                rx.el.span("")),
    )


def alarm_bar() -> rx.Component:
    return rx.el.div(
        rx.el.div(banner(), auth_control(), class_name="alarm-bar-inner"),
        rx.cond(A.auth_notice != "",
                rx.el.div(rx.el.span(A.auth_notice, custom_attrs=tid("auth-notice-text")),
                          rx.el.button("×", on_click=A.dismiss_auth_notice, class_name="notice-close",
                                       aria_label=t("dismiss")),
                          class_name="notice notice-warn auth-notice",
                          custom_attrs={**tid("auth-notice"), "role": "status"}),
                rx.el.span("")),
        class_name="alarm-bar", custom_attrs=tid("alarm-bar"),
    )


def login_card() -> rx.Component:
    """The login form (/login, and every page while KSYS_REQUIRE_LOGIN has nobody logged in)."""
    return rx.el.section(
        rx.cond(A.require_login & ~A.logged_in,
                rx.el.p(t("login.required"), class_name="muted", custom_attrs=tid("login-required")),
                rx.el.span("")),
        rx.cond(
            A.logged_in,
            rx.el.p(t("login.done"), rx.el.b(A.display_name), custom_attrs=tid("login-done")),
            rx.cond(
                A.actions_configured,
                rx.el.form(
                    rx.el.label(rx.el.span(t("login.name"), class_name="field-label"),
                                rx.el.input(name="name", id="login-name", auto_complete="username", max_length=32,
                                            required=True, auto_capitalize="none", spell_check=False,
                                            class_name="select input", custom_attrs=tid("login-name")),
                                html_for="login-name", class_name="field"),
                    rx.el.label(rx.el.span(t("login.password"), class_name="field-label"),
                                rx.el.input(name="password", id="login-password", type="password", max_length=1024,
                                            auto_complete="current-password", required=True,
                                            class_name="select input", custom_attrs=tid("login-password")),
                                html_for="login-password", class_name="field"),
                    rx.el.button(rx.cond(A.login_busy, t("login.busy"), t("login.submit")), type="submit",
                                 disabled=A.login_busy, class_name="btn btn-primary",
                                 custom_attrs=tid("login-submit")),
                    on_submit=A.login, reset_on_submit=False, class_name="login-form",
                ),
                rx.el.p(t("auth.not_configured"), class_name="muted", custom_attrs=tid("login-unconfigured")),
            ),
        ),
        rx.cond(A.login_message != "",
                rx.el.p(A.login_message, class_name="error-inline", custom_attrs={**tid("login-message"),
                                                                                  "role": "alert"}),
                rx.el.span("")),
        class_name="card login-card", custom_attrs=tid("login-card"),
    )


# ---------------------------------------------------------------------- /alarms


def _select(label, options: list[tuple[str, str]], value, on_change, testid: str) -> rx.Component:
    return rx.el.label(
        rx.el.span(label, class_name="field-label"),
        rx.el.select(*[rx.el.option(text, value=v) for v, text in options], value=value, on_change=on_change,
                     id=testid, class_name="select", custom_attrs=tid(testid)),
        html_for=testid, class_name="field")


def filters(S) -> list[rx.Component]:
    prio = [(v, t("filter.all") if v == "all" else t(f"alarm.priority.{v}")) for v in PRIORITY_FILTERS]
    state = [(v, t("filter.all") if v == "all" else t(f"alarm.state.{v}")) for v in STATE_FILTERS]
    return [_select(t("ctl.priority"), prio, S.f_priority, S.set_priority_filter, "filter-priority"),
            _select(t("ctl.state"), state, S.f_state, S.set_state_filter, "filter-state")]


def action_bar(S) -> rx.Component:
    """Note and shelve duration for the row buttons, and "Acknowledge visible" (logged in only)."""
    return rx.el.div(
        rx.el.label(rx.el.span(t("ctl.note"), class_name="field-label"),
                    rx.el.input(value=S.note, on_change=S.set_note, max_length=MAX_NOTE, id="alarm-note",
                                class_name="select input note-input", custom_attrs=tid("alarm-note")),
                    html_for="alarm-note", class_name="field field-note"),
        rx.el.label(rx.el.span(t("ctl.shelve_for"), class_name="field-label"),
                    rx.el.select(*[rx.el.option(str(m), t("unit.minutes"), value=str(m)) for m in SHELVE_MINUTES],
                                 value=S.shelve_for,
                                 on_change=S.set_shelve_for, id="shelve-for", class_name="select",
                                 custom_attrs=tid("shelve-for")),
                    html_for="shelve-for", class_name="field"),
        rx.el.button(t("btn.ack_visible"), " (", S.visible_unack.to_string(), ")", on_click=S.ack_visible,
                     disabled=(S.visible_unack == 0) | S.acting, class_name="btn btn-primary",
                     custom_attrs=tid("ack-visible")),
        class_name="action-bar", custom_attrs=tid("action-bar"),
    )


def action_result(S) -> rx.Component:
    return rx.cond(
        S.action_message != "",
        rx.el.div(rx.el.span(S.action_message, custom_attrs=tid("action-message-text")),
                  rx.el.button("×", on_click=S.dismiss_action, class_name="notice-close", aria_label=t("dismiss")),
                  class_name=rx.cond(S.action_failed, "notice notice-warn", "notice"),
                  custom_attrs={**tid("action-message"), "role": "status",
                                "data-failed": rx.cond(S.action_failed, "1", "0")}),
        rx.el.span(""),
    )


def _row_buttons(S, r) -> rx.Component:
    return rx.el.div(
        rx.cond(r["ack"] == "1", rx.el.button(t("btn.ack"), on_click=S.act("ack", r["tag"], r["kind"]),
                                              disabled=S.acting, class_name="btn btn-small",
                                              custom_attrs=tid("ack-btn")), rx.el.span("")),
        rx.cond(r["shelve"] == "1", rx.el.button(t("btn.shelve"), on_click=S.act("shelve", r["tag"], r["kind"]),
                                                 disabled=S.acting, class_name="btn btn-small",
                                                 custom_attrs=tid("shelve-btn")), rx.el.span("")),
        rx.cond(r["unshelve"] == "1", rx.el.button(t("btn.unshelve"),
                                                   on_click=S.act("unshelve", r["tag"], r["kind"]),
                                                   disabled=S.acting, class_name="btn btn-small",
                                                   custom_attrs=tid("unshelve-btn")), rx.el.span("")),
        class_name="row-actions",
    )


def alarm_table(S, show_actions) -> rx.Component:
    heads = ["col.priority", "col.tag", "col.limit", "col.value", "col.since", "col.state", "col.until"]

    def row(r) -> rx.Component:
        return rx.el.tr(
            rx.el.td(rx.el.span(r["priority_label"], class_name="prio prio-" + r["priority"])),
            rx.el.td(r["tag"], class_name="tag-cell"),
            rx.el.td(r["limit"]),
            rx.el.td(r["value"], class_name="num"),
            rx.el.td(r["since"], class_name="ts-cell"),
            rx.el.td(rx.el.span(r["state_label"], class_name="astate astate-" + r["state"])),
            rx.el.td(r["until"], class_name="ts-cell"),
            rx.cond(show_actions, rx.el.td(_row_buttons(S, r)), rx.fragment()),
            class_name="alarm-row row-" + r["state"] + " prio-row-" + r["priority"],
            custom_attrs={**tid("alarm-row"), "data-tag": r["tag"], "data-kind": r["kind"],
                          "data-state": r["state"], "data-priority": r["priority"]},
        )

    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(*[rx.el.th(t(h), scope="col") for h in heads],
                                 rx.cond(show_actions, rx.el.th(t("col.actions"), scope="col"), rx.fragment()))),
            rx.el.tbody(rx.foreach(S.rows, row)),
            class_name="table alarm-table", custom_attrs=tid("alarm-table"),
        ),
        class_name="table-wrap",
    )


def journal_table(S) -> rx.Component:
    keys = [("col.at", "at"), ("col.tag", "tag"), ("col.limit", "limit"), ("col.action", "action"),
            ("col.change", "change"), ("col.operator", "operator"), ("col.note", "note"), ("col.until", "until")]

    def row(r) -> rx.Component:
        return rx.el.tr(*[rx.el.td(r[k], class_name="note-cell" if k == "note" else ("ts-cell" if k in ("at", "until")
                                                                                    else "")) for _h, k in keys],
                        custom_attrs=tid("journal-row"))

    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(*[rx.el.th(t(h), scope="col") for h, _k in keys])),
            rx.el.tbody(rx.foreach(S.journal, row)),
            class_name="table journal-table", custom_attrs=tid("journal-table"),
        ),
        class_name="table-wrap",
    )


def _kpi_row(label_key: str, value, testid: str, over=None, detail=None) -> rx.Component:
    """One measure: its label, the value (amber when over its target: ISA-101), what it is about."""
    cls = "alarm-kpi-value" if over is None else rx.cond(over != "", "alarm-kpi-value alarm-kpi-over", "alarm-kpi-value")
    return rx.el.tr(
        rx.el.th(t(label_key), scope="row"),
        rx.el.td(value, class_name=cls, custom_attrs=tid(testid)),
        rx.el.td(detail if detail is not None else "", class_name="muted small kpi-detail"),
    )


def kpi_panel(S) -> rx.Component:
    """The alarm system's KPIs after ISA-18.2 / EEMUA 191 over the chosen period."""
    days = [(d, d) for d in ("1", "7", "30", "90")]
    return rx.el.section(
        rx.el.div(
            rx.el.h2(t("kpi.title"), class_name="section-title"),
            _select(t("kpi.period_days"), days, S.kpi_days, S.set_kpi_days, "kpi-days"),
            class_name="section-head",
        ),
        rx.cond(S.kpi_truncated, rx.el.p(t("kpi.truncated"), class_name="badge badge-warn"), rx.el.span("")),
        rx.el.div(rx.el.table(rx.el.tbody(
            _kpi_row("kpi.announced", S.kpi["activations"], "kpi-activations"),
            _kpi_row("kpi.rate", S.kpi["per_10min"], "kpi-rate", S.kpi["per_10min_over"], t("kpi.rate_target")),
            _kpi_row("kpi.peak", S.kpi["peak"], "kpi-peak"),
            _kpi_row("kpi.flood", S.kpi["flood"], "kpi-flood", S.kpi["flood_over"], t("kpi.flood_target")),
            _kpi_row("kpi.chattering", S.kpi["chattering"], "kpi-chattering",
                     rx.cond(S.kpi["chattering"] != "0", "1", ""), S.kpi["chattering_list"]),
            _kpi_row("kpi.stale", S.kpi["stale"], "kpi-stale", rx.cond(S.kpi["stale"] != "0", "1", ""),
                     S.kpi["stale_list"]),
            _kpi_row("kpi.top_share", S.kpi["top_share"], "kpi-top-share"),
        ), class_name="kpi-table"), class_name="table-wrap"),
        rx.el.div(
            rx.el.div(
                rx.el.h3(t("kpi.top"), class_name="small-title"),
                rx.el.ol(rx.foreach(S.kpi_top, lambda r: rx.el.li(r["tag"], " ", rx.el.span(r["n"], " · ", r["share"],
                                                                                          class_name="muted"))),
                         class_name="kpi-top", custom_attrs=tid("kpi-top")),
            ),
            rx.el.div(
                rx.el.h3(t("kpi.priorities"), class_name="small-title"),
                rx.el.ul(rx.foreach(S.kpi_priorities, lambda r: rx.el.li(
                    r["priority"], " ", rx.el.b(r["share"]), rx.el.span(" / ", r["recommended"], class_name="muted"))),
                    class_name="kpi-priorities", custom_attrs=tid("kpi-priorities")),
            ),
            class_name="kpi-lists",
        ),
        class_name="card kpi-card", custom_attrs=tid("kpi-panel"),
    )
