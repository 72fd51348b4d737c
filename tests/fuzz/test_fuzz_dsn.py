"""DSNs that mix valid and hostile pieces, through everything that parses or connects with one.

Every DSN carries the password SECRET. The dashboard's settings (ksys_app.config) accept
it or refuse it with one ConfigError; one the settings accept reaches the database as the
pool would (check_connection, Database.fetch) and fails as a DataError, never as another
exception. The ops helpers (ksys_app.ops.db) refuse or fail with an OpsError. The CLI
exits 1 or 2 with one line, given the DSN by --dsn, TS_DSN or KSYS_ADMIN_DSN. Nowhere
does the password show: not in a message, a detail for the log, a repr or the output.

No DSN reaches a server: the hosts are 127.0.0.1 on a port nothing listens on, a socket
directory that does not exist, or names that fail IDNA encoding (see tests/fuzz/conftest.py).
"""

from __future__ import annotations

import asyncio
import string
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

from ksys_app.config import ConfigError, load_settings, parse_dsn
from ksys_app.data.errors import DataFailure
from ksys_app.data.pool import Database, check_connection
from ksys_app.ops.cli import main
from ksys_app.ops.db import connect, describe, resolve_dsn
from ksys_app.ops.errors import OpsError
from tests.fuzz.conftest import CLOSED_PORT, fails_idna, is_ip, subprocess_env
from tests.fuzz.strategies import SECRET, escaped, fuzz_settings, hostile_text, nasty_char

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ DSN strategy

# A host label longer than 63 characters: CPython's IDNA codec refuses it before any lookup.
long_label = st.text(alphabet=st.sampled_from(string.ascii_letters + string.digits + "-_\u00e9\u4e2d\u0301\u200b"),
                     min_size=64, max_size=300)


@st.composite
def hosts(draw) -> tuple[str, str]:
    """(host for key=value, host for a URI)."""
    kind = draw(st.sampled_from(["ip", "ip", "path", "long", "long-dotted", "escaped-ip", "list"]))
    if kind == "ip":
        return "127.0.0.1", "127.0.0.1"
    if kind == "path":
        tail = draw(hostile_text).replace(",", "")
        path = "/nonexistent-ksys-fuzz/" + tail
        return path, quote(path, safe="", errors="surrogatepass")
    if kind == "long":
        label = draw(long_label)
        return label, draw(st.sampled_from([label, quote(label, safe="", errors="surrogatepass")]))
    if kind == "long-dotted":
        label = draw(long_label)
        name = draw(st.sampled_from([f"db.{label}.plant", f"{label}.example", f"{label}."]))
        return name, name
    if kind == "escaped-ip":
        return "127.0.0.1", "%31%32%37.0.0.1"
    return "127.0.0.1,127.0.0.1", "127.0.0.1,127.0.0.1"


def ports(closed: int):
    return st.sampled_from([str(closed)] * 15 + ["abc", "99999", "65536", "-1", "0", f"{closed},{closed}", "",
                                                 "\u0663", "1e3", f" {closed}", "9" * 30, f"{closed}\x00",
                                                 f"{closed}x", "+1", "0x10"])


def password_variants():
    suffix = st.lists(nasty_char | st.sampled_from(["%zz", "%41", "%", "%2", "\\'", "' '", "=x", "é"]),
                      max_size=3).map("".join)
    return st.tuples(st.sampled_from(["", "a", "'", "%", " "]), suffix).map(lambda p: p[0] + SECRET + p[1])


EXTRA_VALUES = {
    "connect_timeout": ["5", "abc", "-1", "0", "nan", "inf", "1e9", "", "\u0665", "2.5", "9" * 40],
    "sslmode": ["disable", "prefer", "require", "bogus", "", "verify-full", "DISABLE"],
    "target_session_attrs": ["any", "read-write", "bogus", "prefer-standby", ""],
    "application_name": None,   # hostile text
    "passfile": None,
    "hostaddr": ["127.0.0.1"],
    "options": ["-c statement_timeout=1", "-c search_path=evil"],
    "bogus_option": ["1"],
    "service": ["nosuchservice"],
    "sslrootcert": ["/nonexistent"],
    "gssencmode": ["disable", "bogus"],
}


@st.composite
def extras(draw) -> list[tuple[str, str]]:
    out = []
    for key in draw(st.lists(st.sampled_from(sorted(EXTRA_VALUES)), max_size=3)):
        choices = EXTRA_VALUES[key]
        out.append((key, draw(hostile_text if choices is None else st.sampled_from(choices))))
    return out


def kv_quote(value: str, style: str) -> str:
    if style == "quoted":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return value   # raw: breaks on blanks and quotes, which is the point


@st.composite
def dsns(draw, closed: int) -> str:
    kv_host, uri_host = draw(hosts())
    port = draw(ports(closed))
    password = draw(password_variants())
    user = draw(st.sampled_from(["eco_ro", "postgres"]) | hostile_text.filter(lambda u: SECRET not in u))
    dbname = draw(st.sampled_from(["ksys", "EcoAnP"]) | hostile_text)
    more = draw(extras())
    if draw(st.booleans()):
        style = draw(st.sampled_from(["quoted", "quoted", "raw"]))
        pairs = [("host", kv_host), ("port", port), ("user", user), ("password", password), ("dbname", dbname), *more]
        order = draw(st.permutations(pairs))
        dsn = " ".join(f"{k}={kv_quote(v, style)}" for k, v in order)
    else:
        escape = draw(st.sampled_from(["all", "all", "none", "password-only"]))

        def part(v: str, is_password: bool = False) -> str:
            if escape == "all" or (escape == "password-only" and is_password):
                return quote(v, safe="", errors="surrogatepass")
            return v

        query = "&".join(f"{k}={part(v)}" for k, v in more)
        dsn = (f"{draw(st.sampled_from(['postgresql', 'postgres']))}://{part(user)}:{part(password, True)}"
               f"@{uri_host}:{port}/{part(dbname)}" + (f"?{query}" if query else ""))
    # one or two stray characters anywhere: structure the generator did not plan for
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(dsn)))
        dsn = dsn[:at] + draw(nasty_char) + dsn[at:]
    return dsn


def parsed(dsn: str) -> dict | None:
    try:
        return conninfo_to_dict(dsn)
    except ProgrammingError:
        return None
    except (UnicodeError, ValueError):
        return None


def safe_target(dsn: str, closed: int) -> bool:
    """Whether connecting with `dsn` stays off the network beyond 127.0.0.1:closed (no DNS,
    no default socket of a server that may run on this machine)."""
    params = parsed(dsn)
    if params is None:
        return True   # nothing connects with a DSN that does not parse
    hosts_ = str(params.get("host") or "").split(",") + [h for h in str(params.get("hostaddr") or "").split(",") if h]
    if not params.get("host") and not params.get("hostaddr"):
        return False
    for host in hosts_:
        if not (host == "127.0.0.1" or host.startswith("/nonexistent-ksys-fuzz/")
                or (not is_ip(host) and fails_idna(host))):
            return False
    for port in str(params.get("port") or "").split(","):
        if port.strip().isdigit() and port.strip().isascii() and int(port) != closed and 0 < int(port) < 65536:
            return False
    return not params.get("service")   # a service file could name another server


def secret_is_only_the_password(dsn: str) -> bool:
    """False when the DSN parses with SECRET in another field (a stray character turned the
    password into a user name, say): that one may be shown."""
    params = parsed(dsn)
    if params is None:
        return True
    return not any(SECRET in str(v) for k, v in params.items() if k != "password")


def no_secret(dsn: str, *texts: object) -> None:
    if not secret_is_only_the_password(dsn):
        return
    for text in texts:
        assert SECRET not in str(text), f"the password shows in {text!r}"


def reason(exc: BaseException) -> str:
    """The kind of a refusal, for the statistics (its words up to the first value)."""
    text = str(exc).split(":", 1)[-1] if str(exc).startswith("invalid configuration") else str(exc)
    return " ".join(text.replace("TS_DSN", "").split()[:6])


def run(coro):
    """One coroutine on a private loop (the tests' own loop, if any, stays as it is)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 30))
    finally:
        loop.close()


def safe_dsns(for_env: bool = False) -> st.SearchStrategy[str]:
    """DSNs that stay off the network (and, for_env, fit in argv and the environment)."""
    return dsns(CLOSED_PORT).filter(lambda d: safe_target(d, CLOSED_PORT) and (not for_env or env_safe(d)))


# What broke before it was fixed: every run tries these first.
P = CLOSED_PORT
FOUND = [
    f"postgresql://eco_ro:{SECRET}@127.0.0.1:abc/ksys",                  # pool: int('abc') raised ValueError
    f"host=127.0.0.1 port=99999 password={SECRET}",                      # pool: OverflowError from connect()
    f"host=127.0.0.1 port={P} connect_timeout=soon password={SECRET}",   # pool: float('soon') raised ValueError
    f"postgresql://eco_ro:{SECRET}@{'0' * 64}:{P}/ksys",                 # pool: UnicodeError (IDNA label too long)
    f"host=127.0.0.1,127.0.0.1 port={P} password={SECRET}",               # pool: asyncpg looked the list up as one name
    f"\ud800postgresql://eco_ro:{SECRET}@127.0.0.1:{P}/ksys",            # resolve_dsn: UnicodeEncodeError
    f"postgresql://eco_ro:{SECRET}@127.0.0.1:{P}/%0A",                   # CLI: dbname "\n" broke the one-line error
    f"postgresql://eco_ro:{SECRET}@%2Fnonexistent-ksys-fuzz%2F%C2%85:{P}/ksys",  # CLI: NEL in a socket path
]


def found(test):
    for dsn in reversed(FOUND):
        test = example(dsn=dsn)(test)
    return test


def env_safe(dsn: str) -> bool:
    """An environment variable holds no NUL and only what the file system encoding can carry."""
    try:
        dsn.encode(sys.getfilesystemencoding(), "surrogateescape")
    except UnicodeError:
        return False
    return "\x00" not in dsn


# ------------------------------------------------------------------ in process


@fuzz_settings(300)
@given(dsn=safe_dsns())
@found
def test_settings_and_the_pool_refuse_or_fail_as_data_errors(dsn, clean_env, no_dns):
    try:
        parse_dsn(dsn)
    except ValueError as exc:
        no_secret(dsn, exc)
    try:
        settings = load_settings(env_file=None, ts_dsn=dsn)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        no_secret(dsn, exc)
        event(f"refused by the settings: {reason(exc)}")
        return
    no_secret(dsn, repr(settings), settings)
    # a DSN the settings accept is one the pool can try: it fails as a DataError, never raises
    error = run(check_connection(settings))
    assert error is not None, "connected to a port nothing listens on"
    event(f"accepted, then {error.code}")
    no_secret(dsn, error.message, error.detail, error.fix, error)
    db = Database(settings)
    try:
        with pytest.raises(DataFailure) as failure:
            run(db.fetch("SELECT 1", timeout_s=5))
        no_secret(dsn, failure.value, failure.value.error.detail)
    finally:
        run(db.close())
    assert not no_dns, f"the generator let a host name through to DNS: {no_dns}"


@fuzz_settings(250)
@given(dsn=safe_dsns())
@found
def test_ops_helpers_refuse_or_fail_as_ops_errors(dsn, clean_env, no_dns):
    try:
        checked = resolve_dsn(dsn)
    except OpsError as exc:
        no_secret(dsn, exc)
        event(f"refused by resolve_dsn: {reason(exc)}")
        return
    event("accepted, then the connection failed")
    no_secret(dsn, describe(checked))
    with pytest.raises(OpsError) as failure:
        with connect(checked):
            pass
    assert "\n" not in str(failure.value)
    no_secret(dsn, failure.value)
    assert not no_dns, f"the generator let a host name through to DNS: {no_dns}"


# the commands that take an admin DSN (--dsn, KSYS_ADMIN_DSN, TS_DSN) and `serve` (--dsn, TS_DSN)
COMMANDS = {
    "doctor": ["doctor"],
    "verify": ["verify"],
    "migrate": ["migrate"],
    "backup": ["backup", "--out", "/nonexistent-ksys-fuzz/b.dump"],
    "simulate": ["simulate", "--gaps"],
    "worker": ["worker", "--once"],
    "qc-verify": ["qc", "verify", str(ROOT / "db" / "qc" / "influx_qc_rule.csv")],
    "serve": ["serve", "--port", "1"],
}


@fuzz_settings(200)
@given(dsn=safe_dsns(for_env=True), name=st.sampled_from(sorted(COMMANDS)),
       via=st.sampled_from(["--dsn", "KSYS_ADMIN_DSN", "TS_DSN"]))
@example(dsn=FOUND[0], name="serve", via="--dsn")
@example(dsn=FOUND[6], name="doctor", via="KSYS_ADMIN_DSN")
@example(dsn=FOUND[7], name="backup", via="--dsn")
def test_cli_exits_with_one_line_and_never_shows_the_password(dsn, name, via, clean_env, no_dns, monkeypatch, capsys):
    if name == "serve" and via == "KSYS_ADMIN_DSN":
        via = "TS_DSN"   # serve reads the dashboard's DSN only
    with monkeypatch.context() as env:
        if via != "--dsn":
            env.setenv(via, dsn)
        code = main(COMMANDS[name] + (["--dsn", dsn] if via == "--dsn" else []))
    out, err = capsys.readouterr()
    event(f"exit {code}")
    assert code in (1, 2), (code, out, err)
    assert escaped(out + err) is None, err
    assert len(err.strip().splitlines()) == 1, err
    no_secret(dsn, out, err)
    assert not no_dns, f"the generator let a host name through to DNS: {no_dns}"


# ------------------------------------------------------------------ the real process


@fuzz_settings(8)
@given(dsn=safe_dsns(for_env=True), via=st.sampled_from(["--dsn", "KSYS_ADMIN_DSN", "TS_DSN"]))
def test_the_ksys_process_exits_1_or_2_without_a_traceback(dsn, via):
    # argv and the environment cannot hold NUL; each example starts a Python (~1 s)
    args, env = (["doctor", "--dsn", dsn], {}) if via == "--dsn" else (["doctor"], {via: dsn})
    proc = subprocess.run([sys.executable, "-m", "ksys_app.ops.cli", *args], capture_output=True, text=True,
                          env=subprocess_env(env), cwd=ROOT, timeout=60, errors="replace")
    assert proc.returncode in (1, 2), (proc.returncode, proc.stdout, proc.stderr)
    assert escaped(proc.stdout + proc.stderr) is None, proc.stderr
    no_secret(dsn, proc.stdout, proc.stderr)
