"""Labels the components render (by id; see ksys_app.i18n)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
}
