"""Waiting for the app server the tests, benchmarks and demo start."""

from __future__ import annotations

import subprocess
import urllib.request

from ksys_app.retry import poll


def wait_http(url: str, timeout_s: float = 120, proc: subprocess.Popen | None = None) -> None:
    """Until `url` answers 200; RuntimeError when `proc` exits first, TimeoutError after timeout_s."""
    last: list[Exception] = []

    def answered() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last[:] = [exc]
            return False

    if not poll(answered, timeout_s, every_s=0.3):
        raise TimeoutError(f"{url} did not answer: {last[0] if last else 'no response'}")
