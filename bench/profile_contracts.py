"""Where the Repository's overhead goes: cProfile of N cache-off calls of one contract.

    python -m bench.profile_contracts RO_DSN [contract ...] [--runs N]

against a cluster left by `python -m bench --keep` (contract names as in the results,
e.g. series_24h comm_heatmap_30d latest). Prints the top functions by own time.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import sys

from bench.contracts import NO_CACHE, contracts, settings
from ksys_app.data.repository import Repository


async def _run(dsn: str, names: list[str], runs: int) -> None:
    repo = Repository(settings(dsn, **NO_CACHE))
    by_name = {c.name: c for c in contracts("D100")}
    try:
        for name in names:
            c = by_name[name]
            for _ in range(5):
                await c.call(repo)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(runs):
                await c.call(repo)
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
            print(f"==== {name}: {runs} calls\n" + "\n".join(buf.getvalue().splitlines()[:45]))
    finally:
        await repo.close()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--runs")]
    runs = int(next((a.split("=")[1] for a in sys.argv[1:] if a.startswith("--runs=")), "200"))
    dsn, names = args[0], args[1:] or ["series_24h", "comm_heatmap_30d", "latest"]
    asyncio.run(_run(dsn, names, runs))


if __name__ == "__main__":
    main()
