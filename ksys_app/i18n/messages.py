"""Messages the page states compose: notices, empty states, errors (by id; see ksys_app.i18n)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
}
