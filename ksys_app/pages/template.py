"""The page registry: `@page(route, ...)` on a page function is all a route needs.

It wraps the function in the page shell (navbar, heading, notice bar), gives
the state its route (for the URL it rewrites and its log lines) and records
the page; `add_pages(app)` imports every module of ksys_app.pages and adds
each recorded page to the app with its title and on_load, in navbar order.
A new page is a module here, its state in ksys_app.states and, if it needs
one, a component: nothing else changes.

    @page("/trend", nav="Trend", heading="Trend", state=TrendState, order=2)
    def trend() -> tuple[rx.Component, ...]:
        return controls_bar(...), section, ...   # the controls first, then the body
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Sequence

import reflex as rx

from ksys_app.components.layout import NavLink, shell
from ksys_app.states.base import PageState
from ksys_app.states.kiosk import KioskState


@dataclass(frozen=True, slots=True)
class Page:
    route: str
    nav: str  # navbar label; the browser title is "ksys · <nav>"
    heading: str  # the page's h1
    state: type[PageState]
    order: int  # position in the navbar
    component: Callable[[], rx.Component]
    in_nav: bool = True  # /login is reached from the header's Log in link, not the navbar

    @property
    def title(self) -> str:
        return f"ksys · {self.nav}"

    @property
    def link(self) -> NavLink:
        return NavLink(self.route, self.nav, f"nav-{self.nav.lower()}")


PAGES: dict[str, Page] = {}  # by route


def pages() -> list[Page]:
    """The registered pages in navbar order."""
    return sorted(PAGES.values(), key=lambda p: p.order)


def nav_links() -> list[NavLink]:
    return [p.link for p in pages() if p.in_nav]


def page(route: str, *, nav: str, heading: str, state: type[PageState], order: int, in_nav: bool = True):
    """Register a page function returning (controls, *body) under `route`."""

    def register(body: Callable[[], Sequence[rx.Component]]) -> Callable[[], rx.Component]:
        if route in PAGES and PAGES[route].component.__name__ != body.__name__:
            raise ValueError(f"route {route} is registered twice")
        state.route = route

        def component() -> rx.Component:
            controls, *sections = body()
            return shell(state, route, heading, nav_links(), controls, *sections)

        component.__name__ = body.__name__
        component.__doc__ = body.__doc__
        # Reflex writes a page's memoized components into one JS module per Python module
        # the page function comes from (its __module__). Left as this module, every page's
        # components - recharts with them - were one 526 KB chunk that / and /comm loaded too.
        component.__module__ = body.__module__
        PAGES[route] = Page(route, nav, heading, state, order, component, in_nav)
        return component

    return register


def add_pages(app: rx.App) -> None:
    """Import every page module, then add each registered page to `app`."""
    import ksys_app.pages as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    for p in pages():
        # Kiosk first: it decides the chrome and needs no database, so a kiosk looks
        # like one before the page's reads answer (or time out, while the database is down).
        app.add_page(p.component, route=p.route, title=p.title, on_load=[KioskState.on_load, p.state.on_load])
