"""The Reflex app: theme, the page shell's assets, and the pages of ksys_app.pages."""

import reflex as rx

from ksys_app import logevents
from ksys_app.health import health_api
from ksys_app.pages.template import add_pages

# The data layer and the pages emit JSON event lines (db_fail, dash_load_ok, ...) on the
# "ksys" logger; without a handler the INFO ones would be dropped.
logevents.configure_logging()

app = rx.App(
    theme=rx.theme(appearance="light", accent_color="blue", gray_color="slate", radius="medium"),
    # layout.css after ksys.css: the screen sizes (800 x 480 touch, phone, desktop) and
    # kiosk mode override the theme's sizes, never its colours.
    stylesheets=["/ksys.css", "/layout.css"],
    head_components=[rx.script(src="/ksys.js"), rx.script(src="/kiosk.js")],
    api_transformer=health_api,  # /api/health for container checks and `make demo`
)
add_pages(app)  # every @page of ksys_app.pages, with its route, title and on_load
