"""A Mosquitto broker owned by the caller (tests/ingest, the ingest benchmark): its own
config, persistence folder and free port on 127.0.0.1, anonymous, stopped and removed
by the same object. Never a shared broker.

The settings that matter for "nothing lost" are the ones a plant broker needs too
(README, Ingest): persistence on, and no cap on the QoS 1 messages queued for a
client that is away (Mosquitto's default keeps 1000 and drops the rest).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ksys_app.ops.runtime.ports import free_port
from ksys_app.retry import poll


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


@dataclass
class Mosquitto:
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ksys-mqtt-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _conf(self) -> Path:
        data = self.base / "data"
        data.mkdir(exist_ok=True)
        conf = self.base / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "persistence true", f"persistence_location {data}/", "autosave_interval 1",
                 "max_queued_messages 0", "max_queued_bytes 0", "max_inflight_messages 0",
                 "log_dest stderr", "log_type error", "log_type warning"]
        if os.geteuid() == 0:
            lines.append("user root")   # keeps the tmp folders ours (it would switch to `mosquitto`)
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> "Mosquitto":
        binary = find_mosquitto()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        log = open(self.base / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([binary, "-c", str(self._conf())], stdout=log, stderr=log,
                                     start_new_session=True)
        if not poll(self._answers, timeout_s=10, every_s=0.05):
            self.stop()
            raise RuntimeError(f"mosquitto did not listen on {self.port}: {(self.base / 'mosquitto.log').read_text()[-500:]}")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.base / 'mosquitto.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
