"""Fixtures of the fuzz tests: a port nothing listens on, an environment without DSNs, and a
guard that no generated host name ever reaches a DNS resolver.

Generated DSNs name 127.0.0.1, a socket directory that does not exist, or a host name
whose IDNA encoding fails (a label over 63 characters), which Python refuses before any
lookup. `no_dns` records any other name a connection would resolve and answers it with
"no such host" instead: a recorded name fails the test (the generator let it through).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Iterator

import pytest

DSN_VARS = ("TS_DSN", "KSYS_ADMIN_DSN")
# libpq reads these when a DSN leaves a parameter out; the fuzz must not pick up the machine's
PG_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE",
           "PGSERVICEFILE", "PGPASSFILE", "PGSSLMODE", "PGOPTIONS", "PGCONNECT_TIMEOUT")


# A TCP port on 127.0.0.1 that refuses connections: bound for the life of the test process and
# never listened on, so no server started meanwhile (the suite starts clusters on free ports)
# can take it. A module constant, so that strategies and @example inputs can name it.
_HOLDER = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_HOLDER.bind(("127.0.0.1", 0))
CLOSED_PORT: int = _HOLDER.getsockname()[1]


@pytest.fixture
def clean_env(monkeypatch) -> None:
    for var in DSN_VARS + PG_VARS:
        monkeypatch.delenv(var, raising=False)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def fails_idna(host: str) -> bool:
    try:
        host.encode("idna")
    except UnicodeError:
        return True
    return False


@pytest.fixture
def no_dns(monkeypatch) -> Iterator[list[str]]:
    """Names a connection tried to resolve (the list must stay empty)."""
    real = socket.getaddrinfo
    tried: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode(errors="replace") if isinstance(host, bytes) else host
        if name is None or is_ip(name) or (isinstance(host, str) and fails_idna(host)):
            # an address, or a name CPython refuses to encode (UnicodeError before any lookup)
            return real(host, *args, **kwargs)
        tried.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (fuzz: no DNS in tests)")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield tried


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DSN_VARS + PG_VARS}
    env.update(extra or {})
    return env
