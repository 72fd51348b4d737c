"""The Reflex app: routes, theme and the page shell's assets."""

import reflex as rx

from ksys_app import logevents
from ksys_app.health import health_api
from ksys_app.pages.comm import comm
from ksys_app.pages.dashboard import dashboard
from ksys_app.pages.tech import tech
from ksys_app.pages.trend import trend
from ksys_app.states.comm import CommState
from ksys_app.states.dashboard import DashboardState
from ksys_app.states.tech import TechState
from ksys_app.states.trend import TrendState

# The data layer and the pages emit JSON event lines (db_fail, dash_load_ok, ...) on the
# "ksys" logger; without a handler the INFO ones would be dropped.
logevents.configure_logging()

app = rx.App(
    theme=rx.theme(appearance="light", accent_color="blue", gray_color="slate", radius="medium"),
    stylesheets=["/ksys.css"],
    head_components=[rx.script(src="/ksys.js")],
    api_transformer=health_api,  # /api/health for container checks and `make demo`
)
app.add_page(dashboard, route="/", title="ksys · Dashboard", on_load=DashboardState.on_load)
app.add_page(trend, route="/trend", title="ksys · Trend", on_load=TrendState.on_load)
app.add_page(tech, route="/tech", title="ksys · Tech", on_load=TechState.on_load)
app.add_page(comm, route="/comm", title="ksys · Comm", on_load=CommState.on_load)
