"""The page shell: navbar with routes and database status, notice / error / stale / empty states."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import reflex as rx
from reflex.components.react_router import ReactRouterLink

from ksys_app.components import kiosk
from ksys_app.components.text import t
from ksys_app.components.theme import lang_switch, theme_switch
from ksys_app.states.auth import AuthState
from ksys_app.states.display import DisplayState


class NavLink(NamedTuple):
    """One navbar entry (the page registry, ksys_app.pages.template, makes them)."""
    route: str
    label: str
    testid: str


# What App(theme=...)'s Radix Theme wrapper did to these pages (rxconfig.py now leaves
# Radix Themes out while no Radix component is used): the page's background and text
# colour, font smoothing, word breaking, the text selection colour, the navigation
# links' focus ring, and the colour tokens (gray, accent) that Reflex's chart tooltip
# and active dots are drawn with. They are set on .app, not :root, so that they
# resolve against the theme's tokens (assets/ksys.css) of the .app they are on.
THEME_CSS = """
.app { background-color: var(--bg); color: var(--text); overflow-wrap: break-word;
       -webkit-font-smoothing: antialiased; -moz-osx-font-smoothing: grayscale;
       --gray-1: var(--card); --gray-3: var(--card-2); --gray-4: var(--border-soft);
       --gray-11: var(--muted); --gray-12: var(--text); --accent-2: var(--info-bg);
       --accent-10: var(--accent); }
.app ::selection { background-color: rgba(0, 147, 255, 0.24); }
.nav-link:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
"""


def tid(name: str) -> dict:
    """data-testid attribute for stable test selectors."""
    return {"data-testid": name}


def db_indicator(state) -> rx.Component:
    label = rx.match(state.db_status, ("ok", t("db.ok")), ("stale", t("db.stale")), t("db.down"))
    return rx.el.span(
        rx.el.span(class_name="dot"),
        label,
        # a streaming replica answers: how far behind the primary it is
        rx.cond(state.replica_note != "", rx.el.span(" · ", state.replica_note, class_name="db-replica",
                                                     custom_attrs=tid("db-replica")), rx.el.span("")),
        class_name="db-status db-" + state.db_status,
        title=rx.cond(state.error_code != "", state.error_code + ": " + state.error_message,
                      rx.cond(state.probe_error != "", state.probe_error, t("db.answered"))),
        custom_attrs={**tid("db-status"), "data-status": state.db_status, "role": "status"},
    )


def navbar(state, active: str, links: Sequence[NavLink]) -> rx.Component:
    anchors = [
        # client-side navigation: the websocket and the page states stay
        ReactRouterLink.create(t(f"nav.{route}"), to=route, class_name="nav-link" + (" active" if route == active else ""),
                               custom_attrs={**tid(testid), **({"aria-current": "page"} if route == active else {})})
        for route, label, testid in links
    ]
    return rx.el.header(
        rx.el.div(
            rx.el.span("ksys", class_name="brand", custom_attrs=tid("brand")),
            rx.el.nav(*anchors, class_name="nav-links"),
            rx.el.div(kiosk.header_extras(state), lang_switch(), theme_switch(), db_indicator(state), class_name="nav-right"),
            class_name="nav-inner",
        ),
        class_name="navbar",
    )


def _dismissable(text, on_dismiss, icon: str, test_id: str, what: str, css: str) -> rx.Component:
    """A status line with a close button, shown while `text` is not empty."""
    return rx.cond(
        text != "",
        rx.el.div(
            rx.el.span(icon, class_name="notice-icon", aria_hidden="true"),
            rx.el.span(text, custom_attrs=tid(f"{test_id}-text")),
            rx.el.button("×", on_click=on_dismiss, class_name="notice-close", aria_label=t("dismiss")),
            class_name=css,
            custom_attrs={**tid(test_id), "role": "status"},
        ),
    )


def notice_bar(state) -> rx.Component:
    return _dismissable(state.notice, state.dismiss_notice, "i", "notice", "notice", "notice")


def payload_bar(state) -> rx.Component:
    """PAYLOAD_BLOAT of the last update (PageState.payload_notice): a warning, the data is shown."""
    return _dismissable(state.payload_notice, state.dismiss_payload_notice, "!", "payload-notice",
                        "payload warning", "notice notice-warn")


def error_box(state) -> rx.Component:
    """Shown when a read failed and there is nothing to show instead."""
    return rx.el.div(
        rx.el.div(
            rx.el.span(state.error_code, class_name="error-code", custom_attrs=tid("error-code")),
            rx.el.span(state.error_message, class_name="error-message"),
            class_name="error-head",
        ),
        rx.cond(state.error_fix != "",
                rx.el.div(t("error.fix"), state.error_fix, class_name="error-fix", custom_attrs=tid("error-fix")),
                rx.el.span("")),
        rx.el.div(
            rx.cond(state.retry_in_s > 0,
                    rx.el.span(t("error.retrying_in"), state.retry_in_s.to_string(), t("error.attempt"),
                               state.retry_attempt.to_string(), t("error.attempt_end"), class_name="muted",
                               custom_attrs=tid("retry-countdown")),
                    rx.cond(state.error_permanent,
                            rx.el.span(t("error.permanent"),
                                       class_name="muted", custom_attrs=tid("retry-permanent")),
                            rx.el.span(""))),
            rx.el.button(t("btn.retry"), on_click=state.retry, class_name="btn btn-primary",
                         custom_attrs=tid("retry-btn")),
            class_name="error-actions",
        ),
        class_name="error-box",
        custom_attrs={**tid("error-box"), "role": "alert"},
    )


def stale_badge(state) -> rx.Component:
    return rx.el.span(
        t("stale"),
        rx.el.span(" · ", state.stale_code, t("stale.data_from"), state.data_time,
                   rx.cond(state.retry_in_s > 0,
                           rx.el.span(t("stale.retry_in"), state.retry_in_s.to_string(), t("status.seconds")),
                           rx.el.span("")),
                   class_name="stale-detail"),
        class_name="badge badge-stale",
        custom_attrs={**tid("stale-badge"), "role": "status"},
    )


def status_line(state, *extra: rx.Component, show_time: bool = True) -> rx.Component:
    """Right side of a section head: stale badge, or the time of the data."""
    # "data as of": the newest reading (or bucket) shown, which is what tells an
    # operator how current the numbers are; "read": when the database answered.
    fresh = (rx.el.span(
                 rx.cond(state.data_as_of != "",
                         rx.el.span(t("status.data_as_of"), state.data_as_of, custom_attrs=tid("data-as-of"),
                                    title=t("status.data_as_of_title")),
                         rx.el.span("")),
                 rx.cond((state.data_as_of != "") & (state.data_time != ""), rx.el.span(" · "), rx.el.span("")),
                 rx.cond(state.data_time != "",
                         rx.el.span(t("status.read"), state.data_time, custom_attrs=tid("data-time"),
                                    title=t("status.read_title")),
                         rx.el.span("")),
                 class_name="muted small")
             if show_time else rx.el.span(""))
    return rx.el.div(
        *extra,
        rx.cond(state.shows_stale, stale_badge(state), fresh),
        class_name="status-line",
    )


def skeleton(lines: int = 6, testid: str = "skeleton") -> rx.Component:
    return rx.el.div(*[rx.el.div(class_name="sk-line") for _ in range(lines)],
                     class_name="skeleton", custom_attrs={**tid(testid), "aria-busy": "true"})


def empty_state(state, text=None) -> rx.Component:
    return rx.el.div(
        rx.el.div(t("empty.title"), class_name="empty-title"),
        rx.el.div(state.empty_reason if text is None else text, custom_attrs=tid("empty-reason")),
        class_name="empty", custom_attrs=tid("empty-state"),
    )


def content_states(state, content: rx.Component, has_data, lines: int = 8,
                   empty_when=None, empty_text=None) -> rx.Component:
    """Error box / skeleton / empty state / content, in that order of precedence.

    `has_data` is a Var that is true when the page has rows to draw (stale or not).
    The empty state shows when `empty_when` is true (default: the page has an
    empty_reason) with `empty_text` (default: the empty_reason).
    """
    empty_when = (state.empty_reason != "") if empty_when is None else empty_when
    return rx.cond(
        state.failed & ~state.stale & ~has_data,
        error_box(state),
        rx.cond(
            state.loading & ~has_data,
            skeleton(lines),
            rx.cond(empty_when, empty_state(state, empty_text), content),
        ),
    )


def shell(state, active: str, title: str, links: Sequence[NavLink], controls: rx.Component,
          *body: rx.Component) -> rx.Component:
    """The page around a page's controls and body (ksys_app.pages.template calls it)."""
    from ksys_app.components.alarms import alarm_bar, login_card  # they use tid() from here

    return rx.el.div(
        rx.el.style(THEME_CSS),
        # a hidden tab stops the page's live refresh (states.live); document.hidden is the argument
        rx.window_event_listener(on_visibility_change=state.set_hidden),
        navbar(state, active, links),
        alarm_bar(),
        kiosk.cycle_link(),
        rx.el.main(
            rx.el.div(
                rx.el.h1(t(f"heading.{active}"), class_name="page-title"),
                rx.cond(state.loading, rx.el.span(t("loading"), class_name="muted small loading-dot",
                                                  custom_attrs=tid("loading")), rx.el.span("")),
                class_name="page-head",
            ),
            # KSYS_REQUIRE_LOGIN with nobody logged in: the login form instead (the page read nothing)
            rx.cond(AuthState.gate_closed, login_card(),
                    rx.fragment(controls, kiosk.kiosk_notice(), notice_bar(state), payload_bar(state), *body)),
            class_name="page",
        ),
        # "app kiosk" in kiosk mode (layout.css hides the chrome), and the display theme
        class_name=kiosk.app_class() + " theme-" + DisplayState.theme,
        custom_attrs={"data-testid": "app", "data-theme": DisplayState.theme},
    )
