"""Small display helpers shared by page states (labels for charts and headings)."""

from __future__ import annotations

from datetime import datetime

from ksys_app.domain.timefmt import require_aware, resolve_tz


def chart_label(ts: datetime, tz, long_span: bool) -> str:
    """X-axis label in local time: "HH:mm" for spans up to two days, else "MM-DD HH:mm"."""
    local = require_aware(ts).astimezone(resolve_tz(tz))
    return f"{local:%m-%d %H:%M}" if long_span else f"{local:%H:%M}"
