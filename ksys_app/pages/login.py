"""`/login`: operator name and password (components/alarms.login_card)."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.alarms import login_card
from ksys_app.pages.template import page
from ksys_app.states.login import LoginState as S


@page("/login", nav="Log in", heading="Operator login", state=S, order=90, in_nav=False)
def login() -> tuple[rx.Component, ...]:
    return (rx.fragment(), login_card())
