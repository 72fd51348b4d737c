"""`ksys backup | restore | qc | backfill`: data operations (docs/operations.md, ksys_app.ops.dataops).

These need the owner/superuser role, not the dashboard's read-only one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ksys_app.ops.cli.options import dsn_option
from ksys_app.ops.errors import OpsError


def _say(line: str) -> None:
    print(line, flush=True)


@click.command(help="pg_dump (custom format) plus a manifest with per-tag/day checksums.")
@dsn_option()
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="dump file (default: ksys_<db>_<UTC time>.dump in KSYS_BACKUP_DIR or the current directory); "
                   "the manifest goes to FILE.manifest.json")
def backup(dsn: str, out_file: Path | None) -> int:
    from ksys_app.ops.dataops.backup import backup as run

    run(dsn, out_file)
    return 0


@click.command(help="Restore a `ksys backup` dump into an empty (or missing) database; verify counts and "
                    "checksums; re-create grants, the pg_cron tick and the TimescaleDB jobs. Exit 1: refused or "
                    "verification failed; 3: restored, but PostgreSQL must be restarted (then "
                    "`ksys restore --resume`).")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@dsn_option("--target-dsn", role="database to restore into; created when missing; admin DSN")
@click.option("--force", is_flag=True,
              help="the target is not empty: DROP and re-create that database first (its data is lost)")
@click.option("--maintenance-db", default="postgres", show_default=True,
              help="database used to create/drop the target")
@click.option("--no-verify", is_flag=True,
              help="restore a dump that has no manifest (plain pg_dump -Fc); nothing is verified")
@click.option("--resume", is_flag=True,
              help="after a PostgreSQL restart: wait for the TimescaleDB scheduler and kick-start the jobs")
def restore(file: Path | None, dsn: str, force: bool, maintenance_db: str, no_verify: bool, resume: bool) -> int:
    from ksys_app.ops.dataops import restore as steps

    if resume:
        if file:
            raise OpsError("--resume takes no FILE: it finishes a restore after a PostgreSQL restart")
        return steps.resume(dsn, out=_say)
    if not file:
        raise OpsError("FILE is required (the .dump written by `ksys backup`)")
    result = steps.restore(file, dsn, force=force, maintenance_db=maintenance_db, verify=not no_verify, out=_say)
    if result.mismatch:
        print(f"ksys restore: restored data differ from the manifest: {result.mismatch}", file=sys.stderr)
    return result.exit_code


@click.group(help="QC rules: sync influx_qc_rule from a CSV file, or verify drift.")
def qc() -> None:
    pass


def _qc(run) -> int:
    from ksys_app.ops.dataops import qc as rules

    try:
        return run(rules)
    except rules.BadFile as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        raise


@qc.command(help="Upsert every rule of FILE in one transaction (all or nothing).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@dsn_option()
@click.option("--prune", is_flag=True, help="also delete rules whose tag is not in FILE")
def sync(file: Path, dsn: str, prune: bool) -> int:
    return _qc(lambda rules: rules.sync(dsn, file, prune=prune))


@qc.command(name="verify", help="Print the drift between FILE and the database; exit 1 on drift.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@dsn_option()
def qc_verify(file: Path, dsn: str) -> int:
    return _qc(lambda rules: rules.verify(dsn, file))


@click.command(help="Load readings from CSV (ts,tag_name,value[,qc]; .gz accepted; ts with a time zone).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@dsn_option()
@click.option("--skip-bad", is_flag=True, help="load the good rows of a file that has bad ones")
@click.option("--max-future", "max_future_s", type=click.IntRange(0, 86400), default=300, show_default=True,
              metavar="SECONDS", help="refuse readings stamped more than this after the clock (clock skew allowed)")
def backfill(file: Path, dsn: str, skip_bad: bool, max_future_s: int) -> int:
    from datetime import timedelta

    from ksys_app.ops.dataops import backfill as loader

    try:
        loader.backfill(dsn, file, skip_bad=skip_bad, out=_say, future_margin=timedelta(seconds=max_future_s))
    except loader.BadRows as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        if exc.total > len(exc.messages):
            print(f"... and {exc.total - len(exc.messages)} more bad row(s)", file=sys.stderr)
        raise
    return 0


COMMANDS = (backup, restore, qc, backfill)
