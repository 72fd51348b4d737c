"""`ksys migrate | doctor | verify | worker`: the schema's lifecycle (ksys_app.ops.schema)."""

from __future__ import annotations

import click

from ksys_app.ops.cli.options import dsn_option

RELATIONS_HELP = ("virtual_tags, influx_agg_1m, influx_agg_10m, influx_agg_1h, influx_agg_1d, features_5m, "
                  "comm_success_1h, tech_ind_1m_mv")


@click.command(help="Apply pending schema migrations.")
@dsn_option()
@click.option("--engine", type=click.Choice(["timescaledb", "postgres"]),
              help="force an engine on a new database (default: timescaledb when usable)")
def migrate(dsn: str, engine: str | None) -> int:
    from ksys_app.ops.schema.migrate import migrate as run

    run(dsn, engine=engine)
    return 0


@click.command(help="Check schema, jobs, scheduler, roles and freshness; exit 1 on a failed check.")
@dsn_option()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def doctor(dsn: str, as_json: bool) -> int:
    from ksys_app.ops.schema.doctor import doctor as run

    return run(dsn, as_json=as_json)


@click.command(help="Recompute every derived relation from raw readings with the PRD's definitions, day by "
                    "day, read-only, and report differences. Exit 1 on any difference.")
@dsn_option()
@click.option("--since", metavar="T", help="ISO date or time with zone (default: 7 days before --until)")
@click.option("--until", metavar="T", help="ISO date or time with zone (default: now)")
@click.option("--relation", multiple=True, metavar="NAME", help=f"only this relation (repeatable): {RELATIONS_HELP}")
@click.option("--timeout-s", type=click.FloatRange(0, 3600, min_open=True), default=60.0, show_default=True,
              help="statement timeout per day and relation")
def verify(dsn: str, since: str | None, until: str | None, relation: tuple[str, ...], timeout_s: float) -> int:
    from ksys_app.ops.schema.verify import verify as run

    return run(dsn, since=since, until=until, relation=list(relation) or None, timeout_s=timeout_s)


@click.command(help="Refresh rollups and virtual tags where pg_cron is absent.")
@dsn_option(role="admin or writer DSN")
@click.option("--once", is_flag=True, help="run one tick and exit")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=15.0, show_default=True,
              help="seconds between ticks")
def worker(dsn: str, once: bool, interval: float) -> int:
    from ksys_app.ops.schema.worker import run_worker

    return run_worker(dsn, once=once, interval_s=interval)


COMMANDS = (migrate, doctor, verify, worker)
