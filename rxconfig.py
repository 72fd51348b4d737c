"""Reflex configuration. Production serves the exported frontend and the
websocket on one port (KSYS_PORT, default 3000); see `ksys serve`."""

import os

import reflex as rx

from ksys_app.security import parse_origins


class RadixThemesWhenUsed(rx.plugins.RadixThemesPlugin):
    """Radix Themes (its stylesheet and Theme wrapper) only once a Radix component is used.

    The pages use none: assets/ksys.css styles them, and components.layout.THEME_CSS
    reproduces what App(theme=...)'s wrapper changed on them. So App(theme=...) alone
    does not switch Radix on here; its settings are kept for when a Radix component
    does (Reflex then enables the plugin by itself). Radix cost every page 800 KB of
    CSS and 280 KB of JS. The CSS (~2,000 rules, thousands of custom properties and
    :has() rules on :root) made each forced style recalculation slow, and recharts
    forces one per x-axis label it measures: 0.6-0.8 ms per label instead of 0.1 ms,
    ~200 ms before a 24 h chart could draw.
    """

    def apply_app_theme(self, theme) -> None:
        self.theme = theme


config = rx.Config(
    app_name="ksys_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # The exported frontend connects its websocket to this port, so the build is
    # made for the port it will be served on (ksys serve rebuilds when it changes).
    backend_port=int(os.environ.get("KSYS_PORT", "3000")),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[RadixThemesWhenUsed(enabled=False)],
    redis_url=os.environ.get("KSYS_REDIS_URL") or None,
    # CORS for plain HTTP: only the listed origins, never "*" (which Reflex answers with
    # credentials for any site). The websocket's own check is in ksys_app/ksys_app.py.
    cors_allowed_origins=parse_origins(os.environ.get("KSYS_ALLOWED_ORIGINS")),
)
