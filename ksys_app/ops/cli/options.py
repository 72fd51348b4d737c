"""The DSN option every `ksys` command shares, with its environment fallbacks, declared once."""

from __future__ import annotations

from typing import Callable

import click

from ksys_app.ops.errors import OpsError

# Admin commands need the owner/superuser role; the dashboard only the read-only one.
ADMIN_ENV = ("KSYS_ADMIN_DSN", "TS_DSN")
APP_ENV = ("TS_DSN",)


def _resolve(env: tuple[str, ...]):
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        import os

        from ksys_app.ops.db import resolve_dsn

        if not value:
            raise OpsError(f"no database given: pass --dsn or set {' or '.join(env)}")
        if ctx.get_parameter_source(param.name) == click.core.ParameterSource.ENVIRONMENT:
            source = next((name for name in env if os.environ.get(name)), env[0])
            return resolve_dsn(None, source)   # the message names the variable that held it
        return resolve_dsn(value, flag=param.opts[0])   # validated; a malformed one is reported without its password
    return callback


def dsn_option(*names: str, env: tuple[str, ...] = ADMIN_ENV, role: str = "admin DSN") -> Callable:
    """--dsn, else the first of `env` that is set."""
    names = names or ("--dsn",)
    return click.option(*names, "dsn", envvar=list(env), show_envvar=False, callback=_resolve(env),
                        help=f"{role} (default: {', then '.join(env)})")
