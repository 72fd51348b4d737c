"""Who is logged in: the operator's session, kept by the browser, checked by the server.

The session token lives in the browser's localStorage (a reload or a new tab keeps
the login); every page load asks the database whose session it is
(ksys.operator_whoami), so an expired or closed session is logged out with a
notice. A login checks the name and password shape first (domain/operators.py),
then the stored hash (argon2, in a thread: it takes a tenth of a second or more),
and reports the outcome to the database, which counts failures per name and per
client (the client's address as Reflex's router sees it) and locks guessing out.
"Unknown operator" and "wrong password" are one message: the page never says which.

Like LangState, one state for every page; its helpers are private (underscore):
every public method of a state is an event any websocket client may call.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl

import reflex as rx

from ksys_app import logevents
from ksys_app.data.errors import ErrorCode
from ksys_app.data.operator import get_operator_client
from ksys_app.data.repository import get_repository
from ksys_app.domain import operators
from ksys_app.domain.inputs import InputError
from ksys_app.i18n import tr, tr_known
from ksys_app.states.lang import LangState

STORAGE_KEY = "ksys-operator-session"
TOKEN_RE = re.compile(r"[0-9a-f]{16,128}")
DEFAULT_NEXT = "/alarms"


def safe_next(value: object) -> str:
    """Where to go after logging in: a path of this site (never //host or a scheme)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value \
            and len(value) <= 200 and value.isprintable() and not value.startswith("/login"):
        return value
    return DEFAULT_NEXT


class AuthState(rx.State):
    session_token: str = rx.LocalStorage("", name=STORAGE_KEY, sync=True)
    operator: str = ""
    display_name: str = ""
    auth_notice: str = ""  # e.g. the session ended
    login_message: str = ""
    login_busy: bool = False

    @rx.var
    def actions_configured(self) -> bool:
        return get_operator_client() is not None

    @rx.var
    def require_login(self) -> bool:
        return bool(get_repository().setting("require_login"))

    @rx.var
    def logged_in(self) -> bool:
        return self.operator != ""

    @rx.var
    def gate_closed(self) -> bool:
        """KSYS_REQUIRE_LOGIN and nobody logged in: pages show the login form only."""
        return self.require_login and self.operator == ""

    def _token(self) -> str:
        token = self.session_token
        return token if isinstance(token, str) and TOKEN_RE.fullmatch(token) else ""

    def _closed(self) -> bool:
        return bool(get_repository().setting("require_login")) and not self.operator

    async def _lang(self) -> str:
        return (await self.get_state(LangState)).shown_lang

    def _forget(self, lang: str, notice_key: str = "") -> None:
        self.session_token = ""
        self.operator = self.display_name = ""
        self.auth_notice = tr(lang, notice_key) if notice_key else ""

    async def _check_session(self, lang: str) -> None:
        """Page load: whose session the browser's token is (none, expired: logged out)."""
        client, token = get_operator_client(), self._token()
        if client is None or not token:
            if self.session_token:
                self.session_token = ""
            self.operator = self.display_name = ""
            return
        out = await client.whoami(token)
        if out.ok:
            self.operator, self.display_name = out.value.operator, out.value.display_name
        elif out.error.code is ErrorCode.NOT_LOGGED_IN:
            self._forget(lang, "auth.expired")
        # any other error (database down): keep what we knew; the next load asks again

    async def _session_ended(self) -> None:
        """An action answered KS401: the session expired meanwhile."""
        self._forget(await self._lang(), "auth.expired")

    @rx.event
    def dismiss_auth_notice(self):
        self.auth_notice = ""

    @rx.event
    async def login(self, form_data: dict):
        """The login form (name, password). Any JSON may arrive here: checked first."""
        if self.login_busy or not isinstance(form_data, dict):
            return
        lang = await self._lang()
        self.auth_notice = ""
        client = get_operator_client()
        if client is None:
            self.login_message = tr(lang, "auth.not_configured")
            return
        name, plain = form_data.get("name"), form_data.get("password")
        try:
            name = operators.operator_name(name.strip() if isinstance(name, str) else name)
        except InputError:
            self.login_message = tr(lang, "auth.bad_name")
            return
        try:
            operators.password(plain)
        except InputError:
            self.login_message = tr(lang, "auth.failed")
            return
        self.login_busy, self.login_message = True, ""
        yield
        try:
            message = await self._try_login(client, name, plain, lang)
        finally:
            self.login_busy = False
        self.login_message = message
        if not message:
            yield self._after_login()

    async def _try_login(self, client, name: str, plain: str, lang: str) -> str:
        """"" when logged in, else the message to show."""
        ip = self.router.session.client_ip or ""
        begin = await client.begin_login(name, ip)
        if begin.error:
            return self._login_error(begin.error, lang)
        ok = await asyncio.to_thread(operators.password_matches, begin.value, plain)
        finish = await client.finish_login(name, ip, ok)
        if finish.error:
            return self._login_error(finish.error, lang)
        logevents.log_event(logevents.OPERATOR_LOGIN, operator=name, ok=bool(finish.value))
        if not finish.value:
            return tr(lang, "auth.failed")
        self.session_token = finish.value
        who = await client.whoami(finish.value)
        self.operator, self.display_name = (who.value.operator, who.value.display_name) if who.ok else (name, name)
        return ""

    def _login_error(self, error, lang: str) -> str:
        if error.code is ErrorCode.LOGIN_LOCKED:
            return tr(lang, "auth.locked", detail=error.message)
        if error.code is ErrorCode.INVALID_INPUT:
            return tr(lang, "auth.bad_name")
        return tr(lang, "auth.db_error", code=error.code, message=tr_known(lang, error.message))

    def _after_login(self):
        """From /login to ?next= (or /alarms); elsewhere (the form in place of a page) the
        page loads again, now with its data."""
        url = self.router.url
        if url.path.rstrip("/") == "/login":
            return rx.redirect(safe_next(dict(parse_qsl(url.query)).get("next")))
        return rx.call_script("window.location.reload()")

    @rx.event
    async def logout(self):
        client, token = get_operator_client(), self._token()
        if client is not None and token:
            await client.logout(token)
        logevents.log_event(logevents.OPERATOR_LOGOUT, operator=self.operator)
        self._forget(await self._lang())
        if get_repository().setting("require_login"):
            return rx.call_script("window.location.reload()")
