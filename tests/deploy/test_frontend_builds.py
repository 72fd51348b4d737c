"""`ksys serve` keeps a few per-port frontend builds and removes older ones, but never the
build of a port a dashboard is serving from (its pages and its tabs' state are there)."""

from __future__ import annotations

import os
import socket
import time

from ksys_app.ops.runtime import frontend


def test_prune_keeps_the_newest_and_every_served_build(tmp_path, monkeypatch):
    monkeypatch.setenv("KSYS_DATA_DIR", str(tmp_path))
    web = tmp_path / "web"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    served = listener.getsockname()[1]
    try:
        # 41001 is the newest build, 41007 the oldest but one, the served build the oldest
        for rank, port in enumerate([*range(41001, 41008), served]):
            d = web / str(port)
            (d / "states").mkdir(parents=True)
            t = time.time() - 1000 - rank
            os.utime(d, (t, t))
        current = web / "41009"
        current.mkdir()
        frontend._prune_builds(current)
        left = sorted(int(p.name) for p in web.iterdir())
        newest = [41001, 41002, 41003]  # KEEP_BUILDS - 1 besides the current one
        assert frontend.KEEP_BUILDS == 4
        assert left == sorted([served, *newest, 41009]), left
        assert (web / str(served) / "states").is_dir()
    finally:
        listener.close()


def test_the_theme_script_goes_into_every_page_and_its_gzip_twin(tmp_path):
    import gzip

    page = "<!DOCTYPE html><html lang=\"en\"><head><meta charSet=\"utf-8\"/></head><body>x</body></html>"
    (tmp_path / "trend").mkdir()
    for rel in ("index.html", "trend/index.html"):
        (tmp_path / rel).write_text(page)
        (tmp_path / (rel + ".gz")).write_bytes(gzip.compress(page.encode()))
    (tmp_path / "fragment.html").write_text("<div>no head</div>")
    assert frontend.inline_theme_script(tmp_path) == 2
    for rel in ("index.html", "trend/index.html"):
        text = (tmp_path / rel).read_text()
        assert text.startswith("<!DOCTYPE html><html lang=\"en\"><head>" + frontend.THEME_SCRIPT + "<meta")
        assert gzip.decompress((tmp_path / (rel + ".gz")).read_bytes()).decode() == text
    assert (tmp_path / "fragment.html").read_text() == "<div>no head</div>"
    # a second pass (a rebuild that reuses the folder) changes nothing
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert frontend.inline_theme_script(tmp_path) == 2
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
