"""The Reflex app: theme, the page shell's assets, and the pages of ksys_app.pages."""

import os

import reflex as rx

from ksys_app import logevents
from ksys_app.config import ConfigError, Settings, load_settings
from ksys_app.eventguard import guard_events, log_backend_exception
from ksys_app.eventlimit import EventBudget, limit_events
from ksys_app.health import health_api
from ksys_app.pages.template import add_pages
from ksys_app.security import origin_checker, parse_origins, security_headers
from ksys_app.tabtokens import keep_tokens_of_dead_workers

# The data layer and the pages emit JSON event lines (db_fail, dash_load_ok, ...) on the
# "ksys" logger; without a handler the INFO ones would be dropped.
logevents.configure_logging()

app = rx.App(
    theme=rx.theme(appearance="light", accent_color="blue", gray_color="slate", radius="medium"),
    # layout.css after ksys.css: the screen sizes (800 x 480 touch, phone, desktop) and
    # kiosk mode override the theme's sizes, never its colours.
    stylesheets=["/ksys.css", "/layout.css"],
    head_components=[rx.script(src="/ksys.js"), rx.script(src="/kiosk.js"), rx.script(src="/zoom.js")],
    # /api/health for container checks and `make demo`; then the security headers around it all
    api_transformer=[health_api, security_headers],
    # one log line per exception in an event handler, not a traceback (ksys_app.eventguard)
    backend_exception_handler=log_backend_exception,
)
# The websocket accepts the dashboard's own origin and KSYS_ALLOWED_ORIGINS only
# (ksys_app.security); Reflex would otherwise take rxconfig's list, where [] means "anyone".
app.sio.eio.cors_allowed_origins = origin_checker(parse_origins(os.environ.get("KSYS_ALLOWED_ORIGINS")))


def _event_budget() -> EventBudget:
    """KSYS_EVENT_RATE_PER_S / KSYS_EVENT_BURST; their defaults where the settings do not
    load (a frontend build without a database configured: `ksys serve` checks them first)."""
    try:
        settings = load_settings()
        return EventBudget(settings.event_rate_per_s, settings.event_burst)
    except ConfigError:
        fields = Settings.model_fields
        return EventBudget(fields["event_rate_per_s"].default, fields["event_burst"].default)


# Every websocket connection gets an event budget (ksys_app.eventlimit), and every frame
# within it is checked before Reflex sees it (ksys_app.eventguard).
if app.event_namespace is not None:
    guard_events(app.event_namespace, app.sio)
    limit_events(app.event_namespace, _event_budget())
    # with the state in Redis: a tab whose worker died keeps its token, so its state (tabtokens.py)
    keep_tokens_of_dead_workers(app)
add_pages(app)  # every @page of ksys_app.pages, with its route, title and on_load
