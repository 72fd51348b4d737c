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

    p = sub.add_parser("serve", help="run the dashboard in production mode against a database")
    p.add_argument("--dsn", help="read-only app DSN (default: TS_DSN)")
    p.add_argument("--port", type=int, default=int(__import__("os").environ.get("KSYS_PORT", "3000")),
                   help="HTTP port for pages and websocket (default 3000 or KSYS_PORT)")
    p.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the frontend even if unchanged")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="refresh rollups and virtual tags where pg_cron is absent")
    p.add_argument("--dsn", help="admin or writer DSN (default: KSYS_ADMIN_DSN, then TS_DSN)")
    p.add_argument("--once", action="store_true", help="run one tick and exit")
    p.add_argument("--interval", type=float, default=15.0, help="seconds between ticks (default 15)")
    p.set_defaults(func=cmd_worker)
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
