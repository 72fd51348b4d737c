"""Small helpers shared by page states: the tag to show, whether the tab is connected."""

from __future__ import annotations


def pick_tag(requested: str, current: str, options: list[str]) -> tuple[str, list[dict]]:
    """The tag to show and the notices saying why it is not the requested one
    (as messages of ksys_app/i18n/messages.py: {"key": ..., fields}).

    The requested (URL) tag wins when it exists; an unknown one falls back to
    the current (or first) tag. Without options (the tag list could not be
    read) the requested tag is used as it is.
    """
    if not options:
        return (requested or current), []
    if requested and requested not in options:
        fallback = current if current in options else options[0]
        return fallback, [{"key": "notice.unknown_tag", "value": requested[:40], "fallback": fallback}]
    if requested:
        return requested, []
    return (current if current in options else options[0]), []


def client_connected(token: str) -> bool:
    """Whether the browser tab of `token` still has a websocket (True when unknown)."""
    try:
        # The app module, imported when the state runs; App.event_namespace and
        # its token_to_sid are Reflex's public view of the connected tabs.
        from ksys_app.ksys_app import app

        namespace = app.event_namespace
        if namespace is None:
            return True
        return token in namespace.token_to_sid
    except Exception:  # noqa: BLE001 - never let a bookkeeping lookup end the loop
        return True
