"""`/login`: the login form only (AuthState does the work); nothing to read."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import reflex as rx

from ksys_app.data.result import ReadResult
from ksys_app.states.base import ALL, PageState


class LoginState(PageState, rx.State):
    needs_tags: ClassVar[bool] = False
    uses_window: ClassVar[bool] = False

    def _empty_reason(self) -> str:
        return ""

    def _url_script(self):
        return rx.call_script("void 0")  # keep ?next= as it came

    @classmethod
    async def _fetch(cls, params: tuple, parts: frozenset[str]) -> Any:
        return None

    def _apply(self, data: Any, parts: frozenset[str]) -> Mapping[str, ReadResult]:
        return {ALL: ReadResult(rows=("-",))}
