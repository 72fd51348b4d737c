"""The `ksys` command: database and operations tasks.

Every subcommand takes --dsn or reads TS_DSN (migrate prefers KSYS_ADMIN_DSN:
it needs an owner/superuser, the dashboard only the read-only role).
Failures print one line and exit 2 (1 for findings such as doctor failures).
"""

from __future__ import annotations

import argparse
import sys

from ksys_app.ops.errors import OpsError


def _dsn(args: argparse.Namespace, *env_vars: str) -> str:
    from ksys_app.ops.db import resolve_dsn
    import os

    if args.dsn:
        return resolve_dsn(args.dsn)
    for var in env_vars:
        if os.environ.get(var):
            return resolve_dsn(None, var)
    return resolve_dsn(None, env_vars[-1])


def cmd_migrate(args: argparse.Namespace) -> int:
    from ksys_app.ops.migrate import migrate

    migrate(_dsn(args, "KSYS_ADMIN_DSN", "TS_DSN"), engine=args.engine)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from ksys_app.ops.doctor import doctor

    return doctor(_dsn(args, "KSYS_ADMIN_DSN", "TS_DSN"), as_json=args.json)


def cmd_worker(args: argparse.Namespace) -> int:
    from ksys_app.ops.worker import run_worker

    return run_worker(_dsn(args, "KSYS_ADMIN_DSN", "TS_DSN"), once=args.once, interval_s=args.interval)


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from ksys_app.ops import frontend
    from ksys_app.ops.localpg import port_in_use

    dsn = _dsn(args, "TS_DSN")
    if port_in_use(args.port):
        raise OpsError(f"port {args.port} is already in use; pass --port or stop the other server")
    frontend.build_frontend(args.port, force=args.rebuild)
    command, env = frontend.serve_command(args.port, args.host)
    env["TS_DSN"] = dsn
    print(f"ksys dashboard on http://localhost:{args.port}/ (Ctrl-C stops it)", flush=True)
    os.chdir(frontend.PROJECT_ROOT)
    os.execvpe(command[0], command, env)
    return 0  # not reached


def cmd_simulate(args: argparse.Namespace) -> int:
    import signal
    import threading
    from datetime import datetime, timezone

    import psycopg

    from ksys_app.ops.db import connect, first_line
    from ksys_app.ops.simulator import runner, tags

    def number(flag: str, text: str | None, kind: type, lo: float, hi: float, lo_open: bool = False):
        if text is None:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise OpsError(f"{flag} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not (lo < value if lo_open else lo <= value) or not value <= hi:
            bound = f"greater than {lo:g}" if lo_open else f"at least {lo:g}"
            raise OpsError(f"{flag} must be {bound} and at most {hi:g}, got {text}")
        return value

    days = number("--days", args.days, float, 0, runner.MAX_DAYS, lo_open=True)
    seed = number("--seed", args.seed, int, 0, 2**63 - 1)
    interval = number("--interval", args.interval, int, 1, 60)
    try:
        tags.validate_interval(interval)
    except ValueError as exc:
        raise OpsError(f"--{exc}") from None
    try:
        tag_names = tags.parse_tags(args.tags)
    except ValueError as exc:
        raise OpsError(f"--tags: {exc}") from None
    if args.gaps and args.follow:
        raise OpsError("--gaps lists gaps and exits; it cannot be combined with --follow")
    now = runner.utc_now
    if args.now:
        try:
            fake = datetime.fromisoformat(args.now)
        except ValueError:
            raise OpsError(f"--now must be an ISO time such as 2025-01-01T00:00:00+00:00, got {args.now!r}") from None
        if fake.tzinfo is None:
            fake = fake.replace(tzinfo=timezone.utc)
        shift = fake - runner.utc_now()

        def now() -> datetime:  # the clock keeps running from --now
            return runner.utc_now() + shift

    cfg = runner.SimConfig(seed=seed, interval_s=interval, tags=tag_names)
    dsn = _dsn(args, "KSYS_ADMIN_DSN", "TS_DSN")

    if args.gaps:
        gap_days = days if days is not None else runner.DEFAULT_GAP_DAYS
        try:
            with connect(dsn) as conn:
                gaps, silent = runner.list_gaps(conn, cfg, days=gap_days, now=now)
        except psycopg.Error as exc:
            raise OpsError(f"database error: {first_line(exc)}") from None
        print(runner.format_gaps(gaps, silent, gap_days))
        return 0

    stop = threading.Event()

    def on_signal(signum, frame):  # first signal stops cleanly, a second one aborts
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.run(dsn, cfg, days=days, live=args.follow, now=now, stop=stop,
                   out=lambda line: print(line, flush=True))
    except psycopg.Error as exc:
        raise OpsError(f"database error: {first_line(exc)}") from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ksys_app.ops.verify import verify

    return verify(_dsn(args, "KSYS_ADMIN_DSN", "TS_DSN"), since=args.since, until=args.until,
                  relation=args.relation, timeout_s=args.timeout_s)


def cmd_demo(_args: argparse.Namespace) -> int:
    from ksys_app.ops.demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ksys", description="ksys telemetry dashboard: database and operations")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply pending schema migrations")
    p.add_argument("--dsn", help="admin DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--engine", choices=["timescaledb", "postgres"],
                   help="force an engine on a new database (default: timescaledb when usable)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("doctor", help="check schema, jobs, scheduler and roles")
    p.add_argument("--dsn", help="admin DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("verify", help="recompute every derived relation from raw readings and report differences",
                       description="Recomputes virtual tags, rollups, features, comm and indicators from influx_hist "
                                   "with the PRD's definitions, day by day, read-only. Exit 1 on any difference.")
    p.add_argument("--dsn", help="admin DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--since", metavar="T", help="ISO date or time with zone (default: 7 days before --until)")
    p.add_argument("--until", metavar="T", help="ISO date or time with zone (default: now)")
    p.add_argument("--relation", action="append", metavar="NAME",
                   help="only this relation (repeatable): virtual_tags, influx_agg_1m, influx_agg_10m, influx_agg_1h, "
                        "influx_agg_1d, features_5m, comm_success_1h, tech_ind_1m_mv")
    p.add_argument("--timeout-s", type=float, default=60.0, help="statement timeout per day and relation (default 60)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("serve", help="run the dashboard in production mode against a database")
    p.add_argument("--dsn", help="read-only app DSN (default: TS_DSN)")
    p.add_argument("--port", type=int, default=int(__import__("os").environ.get("KSYS_PORT", "3000")),
                   help="HTTP port for pages and websocket (default 3000 or KSYS_PORT)")
    p.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the frontend even if unchanged")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="the dashboard on a local PostgreSQL filled by the simulator (make demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("worker", help="refresh rollups and virtual tags where pg_cron is absent")
    p.add_argument("--dsn", help="admin or writer DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--once", action="store_true", help="run one tick and exit")
    p.add_argument("--interval", type=float, default=15.0, help="seconds between ticks (default 15)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("simulate", help="deterministic telemetry: backfill, gap-fill, live writes, gap report")
    p.add_argument("--dsn", help="admin DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--days", metavar="N",
                   help="backfill the last N days (default: only fill since each tag's last reading); "
                        "with --gaps: the range to inspect (default 7)")
    p.add_argument("--follow", action="store_true", help="after filling, write live readings until stopped")
    p.add_argument("--interval", metavar="S", default="10",
                   help="seconds between readings, a divisor of 60 (default 10)")
    p.add_argument("--seed", metavar="N", default="42", help="seed of every value and dropout (default 42)")
    p.add_argument("--gaps", action="store_true", help="list gaps per tag and exit")
    p.add_argument("--tags", metavar="D100,D200,...", help="simulate only these tags (default: all)")
    p.add_argument("--now", help=argparse.SUPPRESS)  # debugging: pretend the clock reads this ISO time
    p.set_defaults(func=cmd_simulate)

    from ksys_app.ops.cli_ops import add_ops_commands  # backup, restore, qc, backfill

    add_ops_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OpsError as exc:
        print(f"ksys {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
