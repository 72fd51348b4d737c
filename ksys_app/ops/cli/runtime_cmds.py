"""`ksys serve | simulate`: the dashboard in production mode, and the telemetry simulator."""

from __future__ import annotations

import click

from ksys_app.ops.cli.options import APP_ENV, dsn_option
from ksys_app.ops.errors import OpsError
from ksys_app.ops.simulator import runner, tags


@click.command(help="Run the dashboard in production mode against a database.")
@dsn_option(env=APP_ENV, role="read-only app DSN")
@click.option("--port", type=click.IntRange(1, 65535), envvar="KSYS_PORT", default=3000, show_default=True,
              help="HTTP port for pages and websocket (or KSYS_PORT)")
@click.option("--host", default="0.0.0.0", show_default=True, help="listen address")
@click.option("--rebuild", is_flag=True, help="rebuild the frontend even if unchanged")
def serve(dsn: str, port: int, host: str, rebuild: bool) -> int:
    import os

    from ksys_app.ops.runtime import frontend
    from ksys_app.ops.runtime.ports import port_in_use

    settings = check_before_serving(dsn, frontend.PROJECT_ROOT / ".env")
    if port_in_use(port):
        raise OpsError(f"port {port} is already in use; pass --port or stop the other server")
    frontend.build_frontend(port, force=rebuild)
    command, env = frontend.serve_command(port, host)
    env["TS_DSN"] = dsn
    # rxconfig.py reads these from the environment; .env may be where they were set
    env.pop("KSYS_REDIS_URL", None)
    if settings.redis_url:
        env["KSYS_REDIS_URL"] = settings.redis_url
        # Reflex's own default with Redis is 2 x cores + 1 workers
        if settings.workers:
            env["GRANIAN_WORKERS"] = str(settings.workers)
    else:
        env["GRANIAN_WORKERS"] = "1"
    print(f"ksys dashboard on http://localhost:{port}/ (Ctrl-C stops it)", flush=True)
    os.chdir(frontend.PROJECT_ROOT)
    os.execvpe(command[0], command, env)
    return 0  # not reached


def check_before_serving(dsn: str, env_file):
    """The settings the server will load, then one connection as it will connect (and a
    PING of Redis when state goes there): OpsError (one line: what, and how to fix it)
    instead of a server that serves error pages. Returns the settings."""
    import asyncio

    from ksys_app.config import ConfigError, load_settings
    from ksys_app.data.errors import ErrorCode
    from ksys_app.data.pool import check_connection
    from ksys_app.ops.db import describe

    try:
        settings = load_settings(env_file=env_file, ts_dsn=dsn)
    except ConfigError as exc:
        raise OpsError(f"{exc}; correct it in the environment or {env_file}") from None
    if settings.redis_url:
        _check_redis(settings.redis_url)
    error = asyncio.run(check_connection(settings))
    if error is None:
        return settings
    if error.code == ErrorCode.CONFIG:
        fix = f"{error.fix} ({env_file})"
    elif error.fix:
        fix = error.fix + ", then run `ksys serve` again"
    elif error.code == ErrorCode.DB_CONN:
        fix = "start the database or correct host and port in TS_DSN / --dsn, then run `ksys serve` again"
    else:
        fix = "the role in TS_DSN must be able to log in and run SELECT 1"
    # the one who runs `ksys serve` gets the driver's words too (pages get only the message)
    said = f"{error.message} ({error.detail})" if error.detail else error.message
    raise OpsError(f"cannot use the database {describe(dsn)}: {said}; {fix}")


def _check_redis(url: str) -> None:
    import redis

    where = url.split("@")[-1]  # never the password
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise OpsError(f"cannot use Redis at {where} (KSYS_REDIS_URL): {type(exc).__name__}: {exc}; start it or "
                       "correct KSYS_REDIS_URL, or unset it (and KSYS_WORKERS) to run one worker") from None


def _interval(_ctx, _param, value: int) -> int:
    try:
        tags.validate_interval(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("interval ")) from None
    return value


def _tags(_ctx, _param, value: str | None) -> tuple[str, ...]:
    try:
        return tags.parse_tags(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(help="Deterministic telemetry: backfill, gap-fill, live writes, gap report.")
@dsn_option()
@click.option("--days", type=click.FloatRange(0, runner.MAX_DAYS, min_open=True), metavar="N",
              help="backfill the last N days (default: only fill since each tag's last reading); "
                   "with --gaps: the range to inspect (default 7)")
@click.option("--follow", is_flag=True, help="after filling, write live readings until stopped")
@click.option("--interval", type=click.IntRange(1, 60), default=10, show_default=True, callback=_interval,
              metavar="S", help="seconds between readings, a divisor of 60")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=42, show_default=True, metavar="N",
              help="seed of every value and dropout")
@click.option("--gaps", is_flag=True, help="list gaps per tag and exit")
@click.option("--tags", "tag_names", callback=_tags, metavar="D100,D200,...",
              help="simulate only these tags (default: all)")
@click.option("--mqtt", "mqtt_url", metavar="mqtt://HOST:PORT",
              help="with --follow: publish the live readings to this broker (topic ksys/sim/batch, for "
                   "`ksys ingest`) instead of writing them; the fill before still writes the database")
def simulate(dsn: str, days: float | None, follow: bool, interval: int, seed: int, gaps: bool,
             tag_names: tuple[str, ...], mqtt_url: str | None) -> int:
    if gaps and follow:
        raise click.UsageError("--gaps lists gaps and exits; it cannot be combined with --follow")
    if mqtt_url is not None:
        if not follow:
            raise click.UsageError("--mqtt publishes live readings: it needs --follow")
        from ksys_app.ops.ingest.config import parse_broker

        try:
            parse_broker(mqtt_url)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    cfg = runner.SimConfig(seed=seed, interval_s=interval, tags=tag_names)
    if gaps:
        return _print_gaps(dsn, cfg, days if days is not None else runner.DEFAULT_GAP_DAYS)
    return _run(dsn, cfg, days, follow, mqtt_url)


def _print_gaps(dsn: str, cfg: runner.SimConfig, days: float) -> int:
    import psycopg

    from ksys_app.ops.db import connect, db_error

    try:
        with connect(dsn) as conn:
            found, silent = runner.list_gaps(conn, cfg, days=days)
    except psycopg.Error as exc:
        raise db_error(exc) from None
    print(runner.format_gaps(found, silent, days))
    return 0


def _run(dsn: str, cfg: runner.SimConfig, days: float | None, follow: bool, mqtt_url: str | None = None) -> int:
    import signal
    import threading

    import psycopg

    from ksys_app.ops.db import db_error

    stop = threading.Event()

    def on_signal(_signum, _frame):  # first signal stops cleanly, a second one aborts
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        say = lambda line: print(line, flush=True)  # noqa: E731
        runner.run(dsn, cfg, days=days, live=follow and mqtt_url is None, stop=stop, out=say)
        if follow and mqtt_url is not None and not stop.is_set():
            from ksys_app.ops.simulator.publish import follow_mqtt

            stats = follow_mqtt(mqtt_url, cfg, stop=stop, out=say)
            say(f"published {stats.readings} readings in {stats.messages} messages")
    except psycopg.Error as exc:
        raise db_error(exc) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


COMMANDS = (serve, simulate)
