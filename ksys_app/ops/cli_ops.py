"""`ksys backup | restore | qc | backfill`: the operations subcommands (docs/operations.md).

Registered on the main parser by ksys_app.ops.cli.build_parser. Every command
takes --dsn (restore: --target-dsn) or reads KSYS_ADMIN_DSN, then TS_DSN: these
need the owner/superuser role, not the dashboard's read-only one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ksys_app.ops.errors import OpsError

ENV_VARS = ("KSYS_ADMIN_DSN", "TS_DSN")


def _admin_dsn(value: str | None) -> str:
    from ksys_app.ops.db import resolve_dsn

    if value:
        return resolve_dsn(value)
    for var in ENV_VARS:
        if os.environ.get(var):
            return resolve_dsn(None, var)
    return resolve_dsn(None, ENV_VARS[0])


def cmd_backup(args: argparse.Namespace) -> int:
    from ksys_app.ops.backup import backup

    backup(_admin_dsn(args.dsn), Path(args.out) if args.out else None)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from ksys_app.ops import restore

    dsn = _admin_dsn(args.target_dsn)
    if args.resume:
        if args.file:
            raise OpsError("--resume takes no FILE: it finishes a restore after a PostgreSQL restart")
        return restore.resume(dsn, out=lambda line: print(line, flush=True))
    if not args.file:
        raise OpsError("FILE is required (the .dump written by `ksys backup`)")
    result = restore.restore(Path(args.file), dsn, force=args.force, maintenance_db=args.maintenance_db,
                             verify=not args.no_verify, out=lambda line: print(line, flush=True))
    if result.mismatch:
        print(f"ksys restore: restored data differ from the manifest: {result.mismatch}", file=sys.stderr)
    return result.exit_code


def cmd_qc(args: argparse.Namespace) -> int:
    from ksys_app.ops import qc

    dsn = _admin_dsn(args.dsn)
    try:
        if args.qc_command == "sync":
            return qc.sync(dsn, Path(args.file), prune=args.prune)
        return qc.verify(dsn, Path(args.file))
    except qc.BadFile as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        raise


def cmd_backfill(args: argparse.Namespace) -> int:
    from ksys_app.ops import backfill

    try:
        backfill.backfill(_admin_dsn(args.dsn), Path(args.file), skip_bad=args.skip_bad,
                          out=lambda line: print(line, flush=True))
    except backfill.BadRows as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        if exc.total > len(exc.messages):
            print(f"... and {exc.total - len(exc.messages)} more bad row(s)", file=sys.stderr)
        raise
    return 0


def add_ops_commands(sub: argparse._SubParsersAction) -> None:
    dsn_help = "admin DSN (default: KSYS_ADMIN_DSN, then TS_DSN)"

    p = sub.add_parser("backup", help="pg_dump (custom format) plus a manifest with per-tag/day checksums")
    p.add_argument("--dsn", help=dsn_help)
    p.add_argument("--out", metavar="FILE",
                   help="dump file (default: ksys_<db>_<UTC time>.dump in KSYS_BACKUP_DIR or the current directory); "
                        "the manifest goes to FILE.manifest.json")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a `ksys backup` dump and verify it against its manifest",
                       description="Restore into an empty (or missing) database; verify counts and checksums; "
                                   "re-create grants, the pg_cron tick and the TimescaleDB jobs. Exit 1: refused or "
                                   "verification failed; 3: restored, but PostgreSQL must be restarted "
                                   "(then `ksys restore --resume`).")
    p.add_argument("file", nargs="?", metavar="FILE", help="the .dump file (its FILE.manifest.json next to it)")
    p.add_argument("--target-dsn", help=f"database to restore into; created when missing ({dsn_help})")
    p.add_argument("--force", action="store_true",
                   help="the target is not empty: DROP and re-create that database first (its data is lost)")
    p.add_argument("--maintenance-db", default="postgres",
                   help="database used to create/drop the target (default postgres)")
    p.add_argument("--no-verify", action="store_true",
                   help="restore a dump that has no manifest (plain pg_dump -Fc); nothing is verified")
    p.add_argument("--resume", action="store_true",
                   help="after a PostgreSQL restart: wait for the TimescaleDB scheduler and kick-start the jobs")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("qc", help="QC rules: sync influx_qc_rule from a CSV file, or verify drift")
    qc_sub = p.add_subparsers(dest="qc_command", required=True)
    q = qc_sub.add_parser("sync", help="upsert every rule of FILE in one transaction (all or nothing)")
    q.add_argument("file", metavar="FILE", help="CSV with the PRD columns, e.g. db/qc/influx_qc_rule.csv")
    q.add_argument("--dsn", help=dsn_help)
    q.add_argument("--prune", action="store_true", help="also delete rules whose tag is not in FILE")
    q.set_defaults(func=cmd_qc)
    q = qc_sub.add_parser("verify", help="print the drift between FILE and the database; exit 1 on drift")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--dsn", help=dsn_help)
    q.set_defaults(func=cmd_qc)

    p = sub.add_parser("backfill", help="load readings from CSV (ts,tag_name,value[,qc]; .gz accepted)")
    p.add_argument("file", metavar="FILE", help="CSV or gzip-compressed CSV; ts with a time zone")
    p.add_argument("--dsn", help=dsn_help)
    p.add_argument("--skip-bad", action="store_true", help="load the good rows of a file that has bad ones")
    p.set_defaults(func=cmd_backfill)
