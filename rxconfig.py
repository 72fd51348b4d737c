"""Reflex configuration. Production serves the exported frontend and the
websocket on one port (KSYS_PORT, default 3000); see `ksys serve`."""

import os

import reflex as rx

config = rx.Config(
    app_name="ksys_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # The exported frontend connects its websocket to this port, so the build is
    # made for the port it will be served on (ksys serve rebuilds when it changes).
    backend_port=int(os.environ.get("KSYS_PORT", "3000")),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin()],
    redis_url=os.environ.get("KSYS_REDIS_URL") or None,
)
