"""`ksys ingest`: MQTT from the plant into influx_hist (ksys_app.ops.ingest)."""

from __future__ import annotations

from pathlib import Path

import click

from ksys_app.ops.cli.options import dsn_option

INGEST_ENV = ("KSYS_INGEST_DSN",)


@click.command(help="Subscribe to an MQTT broker and write the readings into influx_hist as eco_writer, "
                    "QC-tagged, spooled to disk while the database is unreachable.")
@dsn_option(env=INGEST_ENV, role="eco_writer DSN")
@click.option("--broker", envvar="KSYS_MQTT_BROKER", default="mqtt://127.0.0.1:1883", show_default=True,
              metavar="mqtt://HOST:PORT", help="MQTT broker (or KSYS_MQTT_BROKER)")
@click.option("--topic", "topics", multiple=True, default=("ksys/#",), show_default=True, metavar="FILTER",
              help="subscription filter, QoS 1; repeat for several")
@click.option("--format", "fmt", type=click.Choice(["auto", "reading", "batch", "topic", "node-red"]), default="auto",
              show_default=True, help="payload shape (README, Ingest)")
@click.option("--client-id", metavar="ID", help="MQTT client id, also the broker's session and the status row "
                                                 "(default ksys-ingest-<hostname>)")
@click.option("--spool-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="where batches wait while the database is down (default $KSYS_DATA_DIR/ingest-spool)")
@click.option("--spool-max-mb", type=click.IntRange(1, 1 << 20), default=1024, show_default=True, metavar="MB",
              help="spool bound; when full, ingest stops acknowledging and the broker keeps the rest")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=5000, show_default=True, metavar="N",
              help="readings per write")
@click.option("--max-delay", type=click.FloatRange(0, 60, min_open=True), default=0.5, show_default=True,
              metavar="S", help="longest a message waits for its batch")
@click.option("--receive-max", type=click.IntRange(1, 65535), default=10000, show_default=True, metavar="N",
              help="unacknowledged messages the broker may send (MQTT 5 Receive Maximum)")
@click.option("--session-expiry", type=click.IntRange(0, 2**32 - 1), default=7 * 24 * 3600, show_default=True,
              metavar="S", help="how long the broker keeps the session and its queued messages while ingest is down")
@click.option("--status-every", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True, metavar="S",
              help="period of the ksys.ingest_status row and the status log line")
@click.option("--rules-every", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, metavar="S",
              help="how often the QC rules are checked for a change")
def ingest(dsn: str, broker: str, topics: tuple[str, ...], fmt: str, client_id: str | None, spool_dir: Path | None,
           spool_max_mb: int, batch_size: int, max_delay: float, receive_max: int, session_expiry: int,
           status_every: float, rules_every: float) -> int:
    import signal
    import threading

    from ksys_app.logevents import configure_logging
    from ksys_app.ops.ingest.config import IngestConfig, default_client_id, parse_broker, spool_dir_default
    from ksys_app.ops.ingest.service import Ingest

    try:
        cfg = IngestConfig(broker=parse_broker(broker), topics=tuple(topics), fmt=fmt,
                           client_id=client_id or default_client_id(), spool_dir=spool_dir or spool_dir_default(),
                           spool_max_bytes=spool_max_mb << 20, batch_readings=batch_size, max_delay_s=max_delay,
                           receive_max=receive_max, session_expiry_s=session_expiry, status_every_s=status_every,
                           rules_every_s=rules_every)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging()
    stop = threading.Event()

    def on_signal(_signum, _frame):  # first signal stops cleanly (flush, acknowledge), a second one aborts
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        Ingest(cfg, dsn, stop=stop).run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


COMMANDS = (ingest,)
