"""Kiosk mode's pieces of the page shell: the header extras, the cycle link, the notice.

Kiosk mode itself is a class on the page (`app kiosk`): assets/layout.css hides
the navigation and the controls and enlarges the type; what stays is the
brand, the DB status, a clock and "data as of", so a stale or failed read is
visible from across the room. assets/kiosk.js runs the clock and the cycle.
"""

from __future__ import annotations

import reflex as rx
from reflex.components.react_router import ReactRouterLink

from ksys_app.components.text import t
from ksys_app.states.kiosk import KioskState as K


def tid(name: str) -> dict:
    # components.layout's helper; layout imports this module, so not imported from there
    return {"data-testid": name}


def app_class():
    return rx.cond(K.kiosk, "app kiosk", "app")


def header_extras(state) -> rx.Component:
    """Shown in kiosk mode only (layout.css): the clock and the age of the data."""
    return rx.el.span(
        rx.el.span("", class_name="kiosk-clock", title=t("kiosk.clock_title"),
                   custom_attrs={**tid("kiosk-clock"), "data-tz": K.tz}),
        rx.cond(state.data_as_of != "",
                rx.el.span(t("status.data_as_of"), state.data_as_of, class_name="kiosk-asof",
                           custom_attrs=tid("kiosk-asof")),
                rx.el.span("")),
        class_name="kiosk-extras",
    )


def cycle_link() -> rx.Component:
    """The next page of the cycle as a hidden client-side link; kiosk.js clicks it
    after data-cycle seconds. `replace`: a screen that runs for weeks must not grow
    its history by an entry per page shown."""
    return rx.cond(
        K.kiosk & (K.next_url != ""),
        ReactRouterLink.create("next", to=K.next_url, replace=True, id="kiosk-next", class_name="kiosk-next",
                               custom_attrs={**tid("kiosk-next"), "data-cycle": K.cycle_s.to_string(),
                                             "aria-hidden": "true", "tabIndex": -1}),
        rx.fragment(),
    )


def kiosk_notice() -> rx.Component:
    return rx.cond(
        K.notice != "",
        rx.el.div(
            rx.el.span("i", class_name="notice-icon", aria_hidden="true"),
            rx.el.span(K.notice, custom_attrs=tid("kiosk-notice-text")),
            rx.el.button("×", on_click=K.dismiss_notice, class_name="notice-close", aria_label=t("dismiss")),
            class_name="notice",
            custom_attrs={**tid("kiosk-notice"), "role": "status"},
        ),
    )
