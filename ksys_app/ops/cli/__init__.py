"""The `ksys` command: database and operations tasks (click).

Every subcommand takes --dsn or reads the environment (admin commands:
KSYS_ADMIN_DSN, then TS_DSN; `serve`: TS_DSN). Failures print one line,
`ksys <command>: <why>`, and exit 2 (1 for findings such as doctor failures);
Ctrl-C exits 130. A database error no command turned into an OpsError (a DSN
whose role lacks a privilege the command needs, say) is printed the same way,
exit 2; any other unexpected error as one line, exit 1 (KSYS_DEBUG=1 shows
the traceback). No traceback reaches the user otherwise.

    schema    migrate, doctor, verify, worker        (ksys_app.ops.schema)
    data      backup, restore, qc, backfill          (ksys_app.ops.dataops)
    runtime   serve, simulate                        (ksys_app.ops.runtime, .simulator)
    ingest    ingest                                 (ksys_app.ops.ingest)
    alarms    operator, alarms                       (ksys_app.ops.alarmops)
    tags      tags group / list / groups             (ksys_app.ops.dataops.tags)
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from ksys_app.ops.cli import alarm_cmds, data_cmds, ingest_cmds, runtime_cmds, schema_cmds, tag_cmds
from ksys_app.ops.errors import OpsError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def ksys() -> None:
    """ksys telemetry dashboard: database and operations."""


for module in (schema_cmds, data_cmds, runtime_cmds, ingest_cmds, alarm_cmds, tag_cmds):
    for command in module.COMMANDS:
        ksys.add_command(command)


def _command_path(argv: list[str]) -> str:
    """`ksys qc sync` for an error raised while running that command."""
    path, group = ["ksys"], ksys
    for arg in argv:
        if arg.startswith("-") or not isinstance(group, click.Group) or arg not in group.commands:
            break
        path.append(arg)
        group = group.commands[arg]
    return " ".join(path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        result = ksys.main(args=argv, prog_name="ksys", standalone_mode=False)
    except click.exceptions.Exit as done:       # --help
        return done.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "ksys"
        print(f"{where}: {exc.format_message()}", file=sys.stderr)
        return 2
    except click.ClickException as exc:
        print(f"{_command_path(argv)}: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except OpsError as exc:
        print(f"{_command_path(argv)}: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that keeps tracebacks from users
        return _unexpected(argv, exc)
    return result if isinstance(result, int) else 0


def _unexpected(argv: list[str], exc: Exception) -> int:
    import psycopg

    from ksys_app.ops.db import db_error, first_line

    if os.environ.get("KSYS_DEBUG") == "1":
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, psycopg.Error):
        error = db_error(exc)
        print(f"{_command_path(argv)}: {error}", file=sys.stderr)
        return error.exit_code
    print(f"{_command_path(argv)}: unexpected error: {type(exc).__name__}: {first_line(exc)} "
          "(KSYS_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 1
