"""What a websocket frame must look like before Reflex sees it, and one log line per bad one.

Any client can put any JSON on the dashboard's websocket. Reflex assumes the shape its own
frontend sends, and every other shape cost a full traceback in the server log (one hostile
client could fill the disk with them), some broke the connection, one the state of the tab:

- a frame that is not an object, an unknown handler name, a payload that is not an object
  or names arguments the handler does not take: Reflex raised (EventDeserializationError,
  KeyError, AttributeError, TypeError) and logged each with its traceback;
- JSON nested deeper than the decoder's recursion limit: RecursionError in the socket.io
  packet decoder, logged by engine.io with its traceback;
- a lone UTF-16 surrogate (`"\\ud800"` is valid JSON) in the router data: Reflex echoes the
  URL back in its state update, which cannot be encoded as UTF-8, so the server dropped the
  connection, and the tab's stored state broke every reconnect the same way;
- `router_data` with a path that is not a string: TypeError while building the URL.

So every event frame is checked here (`check_frame`): an object with a registered handler's
name (not Reflex's generic `setvar`, which the dashboard never sends), an object payload
naming only that handler's arguments, router data whose path, URL and query are strings,
at most MAX_DEPTH levels deep; lone surrogates are replaced by U+FFFD. A refused frame is
dropped with one `event_refused` line (reason and name). The handlers still check their
arguments' types and ranges themselves: this is the envelope.

What still goes wrong inside a handler is logged as one `event_failed` line with the
handler and the error type (`log_backend_exception`, the app's backend exception handler)
instead of Reflex's traceback; the full traceback is kept at DEBUG level.
"""

import functools
import inspect
import logging
import traceback
from typing import Any, Awaitable, Callable, Mapping

from reflex_base.event import EventSpec

from ksys_app import logevents

MAX_DEPTH = 32  # the frontend's frames are 3-4 levels deep; the input rules allow 20 for meta
MAX_NAME = 300  # longer than any handler's full name
# A payload string longer than this is refused: no control sends one, and Reflex's warning
# about a value it cannot convert (an int argument given text) quotes the value whole.
MAX_PAYLOAD_STRING = 10_000
ROUTER_STRINGS = ("pathname", "asPath")

logger = logging.getLogger(__name__)


def _scrub(value: Any) -> tuple[Any, int]:
    """(value with lone surrogates in its strings replaced by U+FFFD, nesting depth),
    iteratively, so a deep value cannot exhaust the stack. Depth beyond MAX_DEPTH stops
    the walk (the frame is refused)."""
    def fix(s: str) -> str:
        if s.isascii():
            return s
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s) if _has_surrogate(s) else s

    if isinstance(value, str):
        return fix(value), 0
    if not isinstance(value, (dict, list)):
        return value, 0
    root: list[Any] = [value]
    stack: list[tuple[Any, int]] = [(root, 0)]
    depth = 0
    while stack:
        container, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_DEPTH:
            return value, depth
        if isinstance(container, list):
            items = enumerate(container)
        else:
            items = list(container.items())
        for key, item in items:
            if isinstance(container, dict) and isinstance(key, str) and not key.isascii() and _has_surrogate(key):
                del container[key]
                key = fix(key)
                container[key] = item
            if isinstance(item, str):
                container[key] = fix(item)
            elif isinstance(item, (dict, list)):
                stack.append((item, level + 1))
    return root[0], depth


def _longest_string(value: Any) -> int:
    """The length of the longest string in `value` (iteratively; at most MAX_DEPTH + 1 levels)."""
    longest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            longest = max(longest, len(item))
        elif level <= MAX_DEPTH and isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
            longest = max([longest, *(len(k) for k in item if isinstance(k, str))])
        elif level <= MAX_DEPTH and isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return longest


def _has_surrogate(s: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def handler_arguments(fn: Callable) -> tuple[frozenset[str], frozenset[str], bool]:
    """(all argument names, required ones, takes **kwargs) of an event handler, without self."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    names = frozenset(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    required = frozenset(p.name for p in params if p.default is p.empty
                         and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, required, any(p.kind is p.VAR_KEYWORD for p in params)


def state_handlers(root_state: Any) -> dict[str, tuple[frozenset[str], frozenset[str], bool]]:
    """Every event handler of the state tree under `root_state`, by full event name."""
    out: dict[str, tuple[frozenset[str], frozenset[str], bool]] = {}
    todo = [root_state]
    while todo:
        cls = todo.pop()
        for name, handler in cls.event_handlers.items():
            out[f"{cls.get_full_name()}.{name}"] = handler_arguments(handler.fn)
        todo.extend(cls.get_substates())
    return out


def check_frame(data: Any, handlers: Mapping[str, tuple[frozenset[str], frozenset[str], bool]]
                ) -> tuple[dict | None, str]:
    """(the frame to hand to Reflex, "") or (None, why it is refused)."""
    if not isinstance(data, dict):
        return None, "not_an_object"
    name = data.get("name")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        return None, "bad_name"
    if name not in handlers:
        return None, "unknown_handler"
    if name.endswith(".setvar"):
        # Reflex's generic setter (calls set_<var_name>): the dashboard never sends it
        return None, "not_offered"
    payload = data.get("payload", {})
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        return None, "bad_payload"
    if _longest_string(payload) > MAX_PAYLOAD_STRING:
        return None, "too_large"
    names, required, any_kwargs = handlers[name]
    if not any_kwargs and not payload.keys() <= names:
        return None, "unknown_argument"
    if not required <= payload.keys():
        return None, "missing_argument"
    router = data.get("router_data", {})
    if not isinstance(router, dict):
        return None, "bad_router_data"
    if any(k in router and not isinstance(router[k], str) for k in ROUTER_STRINGS):
        return None, "bad_router_data"
    query = router.get("query", {})
    if not isinstance(query, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        return None, "bad_router_data"
    frame, depth = _scrub(data)
    if depth > MAX_DEPTH:
        return None, "too_deep"
    return frame, ""


def guard_events(namespace: Any, sio: Any) -> None:
    """Check every event frame of a Reflex EventNamespace (check_frame) before its on_event,
    and keep what still fails at the socket (a frame the socket.io decoder cannot parse,
    an error in Reflex's own handling) to one log line instead of engine.io's traceback.
    Install before limit_events, so that refused frames cost their connection's budget."""
    on_event: Callable[[str, Any], Awaitable[None]] = namespace.on_event
    handlers: dict = {}

    @functools.wraps(on_event)
    async def checked_on_event(sid: str, data: Any) -> None:
        if not handlers:
            handlers.update(state_handlers(namespace.app._state))
        frame, reason = check_frame(data, handlers)
        if frame is None:
            name = data.get("name") if isinstance(data, dict) else None
            logevents.log_event(logevents.EVENT_REFUSED, reason=reason, sid=sid,
                                name=None if name is None else logevents.printable(name))
            return None
        return await on_event(sid, frame)

    namespace.on_event = checked_on_event

    eio = getattr(sio, "eio", None)
    message = getattr(eio, "handlers", {}).get("message")
    if message is None:
        return

    @functools.wraps(message)
    async def guarded_message(eio_sid: str, data: Any) -> Any:
        try:
            return await message(eio_sid, data)
        except Exception as ex:  # noqa: BLE001 - a bad frame must cost one line, not a traceback
            logevents.log_event(logevents.EVENT_REFUSED, reason=f"undecodable:{type(ex).__name__}", sid=eio_sid,
                                name=None)
            logger.debug("frame refused", exc_info=True)
            return None

    eio.handlers["message"] = guarded_message


def _failed_handler(exc: BaseException) -> str | None:
    """The event handler an exception came from: process_event's `handler_name`, else the
    innermost ksys_app frame."""
    name = None
    ksys_frame = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "process_event" and isinstance(frame.f_locals.get("handler_name"), str):
            name = frame.f_locals["handler_name"]
        if "ksys_app" in frame.f_code.co_filename:
            ksys_frame = f"{frame.f_code.co_filename.rsplit('ksys_app', 1)[1].lstrip('/')}:{tb.tb_lineno}"
        tb = tb.tb_next
    return " ".join(x for x in (name, ksys_frame and f"at {ksys_frame}") if x) or None


def log_backend_exception(exception: Exception) -> EventSpec | None:
    """The app's backend exception handler: one `event_failed` line per exception in an
    event handler (which handler, where in ksys_app, the error type and the first 200
    characters of its message), the traceback at DEBUG only; the tab gets Reflex's
    production toast ("An error occurred"), which says nothing about the server."""
    logevents.log_event(logevents.EVENT_FAILED, handler=_failed_handler(exception),
                        error=type(exception).__name__, detail=logevents.printable(str(exception), 200))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("event failed: %s", "".join(traceback.format_exception(exception)))
    from reflex_components_sonner.toast import toast

    return toast("An error occurred.", level="error", fallback_to_alert=True,
                 description="Contact the website administrator.", position="top-center", id="backend_error")
