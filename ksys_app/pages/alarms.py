"""`/alarms`: the alarms not normal (filters, actions when logged in), then the journal."""

from __future__ import annotations

import reflex as rx
from reflex.components.react_router import ReactRouterLink

from ksys_app.components.alarms import action_bar, action_result, alarm_table, filters, journal_table, kpi_panel
from ksys_app.components.controls import button, controls_bar, pager
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.text import t
from ksys_app.pages.template import page
from ksys_app.states.alarms import AlarmsState as S
from ksys_app.states.auth import AuthState as A


def _access_line() -> rx.Component:
    """One line on what this browser may do here: not configured, log in, or the action bar."""
    return rx.cond(
        ~A.actions_configured,
        rx.el.p(t("alarms.readonly"), class_name="muted small", custom_attrs=tid("actions-unconfigured")),
        rx.cond(A.logged_in, action_bar(S),
                rx.el.p(ReactRouterLink.create(t("auth.log_in"), to="/login?next=/alarms", class_name="inline-link"),
                        " ", t("alarms.login_hint"), class_name="muted small", custom_attrs=tid("login-hint"))),
    )


def _active() -> rx.Component:
    table = rx.cond(S.rows.length() > 0, alarm_table(S, A.logged_in & A.actions_configured),
                    rx.el.p(rx.cond(S.active_count > 0, t("alarms.none_filtered"), t("alarms.none")),
                            class_name="muted", custom_attrs=tid("no-alarms")))
    return rx.el.section(
        rx.el.div(rx.el.h2(t("alarms.active"), class_name="section-title"),
                  rx.el.span(S.rows.length().to_string(), t("alarms.of"), S.active_count.to_string(), t("alarms.shown"),
                             class_name="muted small", custom_attrs=tid("alarm-count")),
                  status_line(S), class_name="section-head"),
        _access_line(),
        action_result(S),
        content_states(S, table, S.active_count >= 0, lines=4, empty_when=False),
        class_name="card alarms-card",
    )


def _journal() -> rx.Component:
    return rx.el.section(
        rx.el.div(rx.el.h2(t("alarms.journal"), class_name="section-title"),
                  button(t("btn.csv"), S.download_journal, "journal-csv"), class_name="section-head"),
        rx.cond(S.journal.length() > 0,
                rx.el.div(journal_table(S),
                          pager(S.jpage, S.jpages, S.prev_jpage, S.next_jpage, S.jtotal, "journal")),
                rx.el.p(t("alarms.no_journal"), class_name="muted small", custom_attrs=tid("no-journal"))),
        class_name="card journal-card",
    )


@page("/alarms", nav="Alarms", heading="Alarms", state=S, order=5)
def alarms() -> tuple[rx.Component, ...]:
    return (
        controls_bar(*filters(S), button(t("btn.refresh"), S.refresh, "refresh-btn")),
        _active(),
        kpi_panel(S),
        _journal(),
    )
