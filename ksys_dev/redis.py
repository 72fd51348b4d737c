"""A redis-server owned by the caller (tests of several app workers): its own folder and
free port on 127.0.0.1, no persistence to disk, stopped and removed by the same object.
Never a shared server.

Reflex keeps every tab's page state in it when KSYS_REDIS_URL is set, so any worker can
answer any tab and a restarted backend finds the tabs' state where they left it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ksys_app.ops.runtime.ports import free_port
from ksys_app.retry import poll


def find_redis() -> str | None:
    return shutil.which("redis-server")


@dataclass
class Redis:
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ksys-redis-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        binary = find_redis()
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        log = self.base / "redis.log"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.base),
             "--save", "", "--appendonly", "no", "--logfile", str(log), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        if not poll(self._answers, timeout_s=10, every_s=0.05):
            self.stop()
            raise RuntimeError(f"redis-server did not listen on {self.port}: {log.read_text()[-500:] if log.exists() else ''}")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {self.proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
