"""`ksys operator ...` and `ksys alarms ...`: operator accounts, out of service, and the
alarm KPIs (ksys_app.ops.alarmops). These need the owner role (KSYS_ADMIN_DSN)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timezone

import click

from ksys_app.ops.cli.options import dsn_option
from ksys_app.ops.errors import OpsError

LIMITS = ("hard_low", "hard_high", "crit_low", "crit_high", "warn_low", "warn_high")


def _password(stdin: bool) -> str:
    """From one line of stdin (scripts, the demo), else asked twice at the terminal."""
    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise OpsError("--password-stdin: no password on stdin")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise OpsError("no terminal to ask for the password: pass it on stdin with --password-stdin")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _when(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S %z") if t else "-"


@click.group(help="Operator accounts: who may log in to acknowledge and shelve alarms.")
def operator() -> None:
    pass


@operator.command(help="Create an operator (the password is asked twice, or read from stdin).")
@click.argument("name")
@click.option("--display-name", metavar="TEXT", help="the name pages and the journal show (default: NAME)")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@dsn_option()
def add(name: str, display_name: str | None, password_stdin: bool, dsn: str) -> int:
    from ksys_app.ops.alarmops import operators

    operators.add(dsn, name, display_name, _password(password_stdin))
    print(f"operator {name} added")
    return 0


@operator.command(help="Set a new password (ends the operator's open sessions).")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@dsn_option()
def password(name: str, password_stdin: bool, dsn: str) -> int:
    from ksys_app.ops.alarmops import operators

    operators.set_password(dsn, name, _password(password_stdin))
    print(f"operator {name}: password changed, open sessions ended")
    return 0


@operator.command(help="Stop an operator from logging in; their open sessions end at once.")
@click.argument("name")
@dsn_option()
def disable(name: str, dsn: str) -> int:
    from ksys_app.ops.alarmops import operators

    closed = operators.set_enabled(dsn, name, False)
    print(f"operator {name} disabled ({closed} open session(s) ended)")
    return 0


@operator.command(help="Let a disabled operator log in again.")
@click.argument("name")
@dsn_option()
def enable(name: str, dsn: str) -> int:
    from ksys_app.ops.alarmops import operators

    operators.set_enabled(dsn, name, True)
    print(f"operator {name} enabled")
    return 0


@operator.command(name="list", help="Operators, their last login, open sessions and failed logins.")
@dsn_option()
def list_operators(dsn: str) -> int:
    from ksys_app.ops.alarmops import operators

    rows = operators.listing(dsn)
    if not rows:
        print("no operators (`ksys operator add NAME` creates one)")
    for r in rows:
        print(f"{r.name:<16} {r.display_name:<24} {'enabled' if r.enabled else 'DISABLED':<8}  "
              f"last login {_when(r.last_login)}  sessions {r.open_sessions}  failed (24 h) {r.failed_logins_24h}")
    return 0


@click.group(help="Alarms: their states, out of service, and the alarm system's KPIs.")
def alarms() -> None:
    pass


@alarms.command(name="list", help="Alarms not in the normal state (--all: every alarm).")
@click.option("--all", "every", is_flag=True, help="every alarm of every enabled rule")
@dsn_option()
def list_alarms(every: bool, dsn: str) -> int:
    from ksys_app.ops.alarmops import alarms as ops

    rows = ops.states(dsn, every=every)
    if not rows:
        print("no alarms" + ("" if every else " outside the normal state"))
    for r in rows:
        value = "-" if r.value is None else f"{r.value:g}"
        extra = f"  shelved until {_when(r.shelved_until)}" if r.shelved_until else ""
        print(f"{r.priority:<6} {r.tag:<20} {r.kind:<9} {r.state:<14} value {value:<10} "
              f"active since {_when(r.active_since)}{extra}")
    return 0


def _service(tag: str, limit: str, in_service: bool, by: str | None, note: str | None, dsn: str) -> int:
    from ksys_app.ops.alarmops import alarms as ops

    state = ops.set_in_service(dsn, tag, limit, in_service, by or f"admin:{getpass.getuser()}", note)
    print(f"{tag} {limit}: {state}")
    return 0


@alarms.command(help="Take an alarm out of service (not announced until restored).")
@click.argument("tag")
@click.argument("limit", type=click.Choice(LIMITS))
@click.option("--note", metavar="TEXT", help="why (kept in the journal)")
@click.option("--by", metavar="NAME", help="who (default: admin:<your login name>)")
@dsn_option()
def remove(tag: str, limit: str, note: str | None, by: str | None, dsn: str) -> int:
    return _service(tag, limit, False, by, note, dsn)


@alarms.command(help="Return an alarm to service (announced again if still active).")
@click.argument("tag")
@click.argument("limit", type=click.Choice(LIMITS))
@click.option("--note", metavar="TEXT", help="why (kept in the journal)")
@click.option("--by", metavar="NAME", help="who (default: admin:<your login name>)")
@dsn_option()
def restore(tag: str, limit: str, note: str | None, by: str | None, dsn: str) -> int:
    return _service(tag, limit, True, by, note, dsn)


@alarms.command(help="Alarm KPIs after ISA-18.2 / EEMUA 191 over a period (default: the last 30 days).")
@click.option("--since", metavar="T", help="ISO date or time with zone (default: 30 days before --until)")
@click.option("--until", metavar="T", help="ISO date or time with zone (default: now)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@dsn_option()
def report(since: str | None, until: str | None, as_json: bool, dsn: str) -> int:
    from ksys_app.ops.alarmops import alarms as ops
    from ksys_app.ops.alarmops.report_text import report_json, report_lines
    from ksys_app.ops.schema.verify import parse_time

    start = parse_time(since, "--since") if since else None
    end = parse_time(until, "--until") if until else None
    result = ops.report(dsn, start, end, now=datetime.now(timezone.utc))
    if as_json:
        print(json.dumps(report_json(result), indent=2))
    else:
        for line in report_lines(result):
            print(line)
    return 0


COMMANDS = (operator, alarms)
