"""The dashboard's production runtime: JS toolchain, frontend export, one-port server.

Reflex 0.10 needs bun >= 1.4.4 (Node 20 is too old) and would download it from
GitHub; we install bun from the npm registry into the project's data folder and
put it on PATH, so the build works with only the package registries reachable.
The exported frontend is rebuilt only when the UI code or the port changes, and
the server then starts in about a second instead of rebuilding every time.
The websocket port is compiled into the frontend, so each port gets its own
build folder (.ksys/web/<port>): servers on different ports never share one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from ksys_app.ops.errors import OpsError

PROJECT_ROOT = Path(__file__).resolve().parents[3]
BUN_VERSION = "1.4.4"
UI_SOURCES = ("ksys_app", "rxconfig.py", "assets")


def run_group(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with captured text output, in a process group of its own that is
    killed as a whole when the caller is interrupted (Ctrl-C, SIGTERM in `make demo`):
    the build's bun and node children go with it instead of running on."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        _end_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _end_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM to the whole group, SIGKILL to what is left after grace_s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGTERM:
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
    proc.wait()


def data_dir() -> Path:
    return Path(os.environ.get("KSYS_DATA_DIR", PROJECT_ROOT / ".ksys")).resolve()


KEEP_BUILDS = 4


def web_dir(port: int) -> Path:
    return data_dir() / "web" / str(port)


def _serving(build: Path) -> bool:
    """A build whose port is in use: a dashboard may be serving from it (its pages and its
    tabs' state live there), however old the build."""
    from ksys_app.ops.runtime.ports import port_in_use

    return build.name.isdigit() and 0 < int(build.name) < 65536 and port_in_use(int(build.name))


def _prune_builds(current: Path) -> None:
    """Keep the newest few per-port builds (each holds its own node_modules), and every
    build a running dashboard serves from: removing one took its pages and its tabs'
    state from under it (seen with several servers of one checkout, e.g. the test suite's)."""
    builds = sorted((p for p in current.parent.iterdir() if p.is_dir() and p != current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[KEEP_BUILDS - 1:]:
        if not _serving(old):
            shutil.rmtree(old, ignore_errors=True)


def _bun_dir() -> Path:
    return data_dir() / "node" / "node_modules" / ".bin"


def ensure_bun() -> Path:
    """Directory holding a bun >= BUN_VERSION binary (installed from npm when missing)."""
    local = _bun_dir()
    if (local / "bun").exists():
        return local
    npm = shutil.which("npm")
    if npm is None:
        raise OpsError("npm is needed once to install bun for the frontend build: install nodejs/npm")
    prefix = data_dir() / "node"
    prefix.mkdir(parents=True, exist_ok=True)
    result = run_group([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"bun@{BUN_VERSION}"])
    if result.returncode != 0 or not (local / "bun").exists():
        raise OpsError(f"installing bun@{BUN_VERSION} from npm failed: {result.stderr.strip()[-300:]}")
    return local


def reflex_env(port: int, for_build: bool = False) -> dict[str, str]:
    """Environment for reflex; the JS toolchain is only needed to build."""
    env = dict(os.environ)
    tools = [str(ensure_bun())] if for_build else []
    env["PATH"] = os.pathsep.join([*tools, str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update({
        "KSYS_PORT": str(port),
        "REFLEX_WEB_WORKDIR": str(web_dir(port)),
        "REFLEX_STATES_WORKDIR": str(web_dir(port) / "states"),
        "REFLEX_DIR": str(data_dir() / "reflex"),
        "REFLEX_CHECK_LATEST_VERSION": "0",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "BUN_INSTALL_CACHE_DIR": str(data_dir() / "bun-cache"),
        "NPM_CONFIG_REGISTRY": env.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org"),
    })
    return env


def _fingerprint(port: int) -> str:
    h = hashlib.sha256(f"port={port}".encode())
    for name in UI_SOURCES:
        root = PROJECT_ROOT / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for path in files:
            if "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(PROJECT_ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def build_frontend(port: int, force: bool = False, out=print) -> bool:
    """Export the frontend for `port` unless an identical build exists; True if it built."""
    stamp = web_dir(port) / "ksys-build.stamp"
    fingerprint = _fingerprint(port)
    client = web_dir(port) / "build" / "client"
    if not force and client.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    out(f"building the frontend for port {port} (once per UI change)...")
    web_dir(port).mkdir(parents=True, exist_ok=True)
    result = run_group([sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip",
                        "--loglevel", "warning"], cwd=PROJECT_ROOT, env=reflex_env(port, for_build=True))
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise OpsError(f"frontend build failed:\n{tail}")
    themed = inline_theme_script(client)
    if themed == 0:
        raise OpsError(f"frontend build has no page with a <head> to put the theme script in: {client}")
    stamp.write_text(fingerprint)
    _prune_builds(web_dir(port))
    return True


# The theme a browser chose (states/display.py, localStorage "ksys-theme") on <html> before
# the first paint. Reflex puts head_components (assets/ksys.js) into the page once React runs,
# after the page has been painted with the default theme: a dark screen flashed white for
# about a second on a Pi. This runs while the parser is still in <head>, then removes its own
# element: React hydrates <head> too, and an element it did not render there is a hydration
# error (#418), after which React renders the whole page again. ksys.js keeps the theme current.
THEME_SCRIPT = ('<script>try{var t=localStorage.getItem("ksys-theme");'
                'if(t==="dark"||t==="light")document.documentElement.setAttribute("data-theme",t)}catch(e){}'
                'document.currentScript.remove()</script>')


def inline_theme_script(client: Path) -> int:
    """Puts THEME_SCRIPT first in the <head> of every exported page, and into the page's
    precompressed twin (page.html.gz, which the server sends to browsers that accept
    gzip); the number of pages."""
    pages = 0
    for html in client.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        if THEME_SCRIPT not in text:
            if "<head>" not in text:
                continue
            text = text.replace("<head>", "<head>" + THEME_SCRIPT, 1)
            html.write_text(text, encoding="utf-8")
        twin = html.with_name(html.name + ".gz")
        if twin.exists() and THEME_SCRIPT.encode() not in gzip.decompress(twin.read_bytes()):
            twin.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
        pages += 1
    return pages


def serve_command(port: int, host: str) -> tuple[list[str], dict[str, str]]:
    """The server process: the exported frontend and the websocket on one port."""
    return ([sys.executable, "-m", "ksys_app.ops.runtime.serve", "--port", str(port), "--host", host],
            reflex_env(port))
