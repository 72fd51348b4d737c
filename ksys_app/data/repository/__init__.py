"""The dashboard's reads: validate, cache, run, map to rows, report as a ReadResult.

One repository per process (get_repository()); States call its methods and
never see SQL, connections or exceptions. The read methods live in
`reads.Reads`; `configured.Repository` runs them against the database,
`unconfigured.UnconfiguredRepository` answers each with the configuration
error when the settings cannot be loaded.
"""

from __future__ import annotations

from ksys_app.config import ConfigError, load_settings
from ksys_app.data.repository.configured import Repository
from ksys_app.data.repository.reads import (
    COMM,
    FEATURES,
    FEATURES_BUCKET,
    HEATMAP_DAYS,
    METRICS,
    SNAPSHOT,
    TAGS,
    ReadContext,
    Reads,
)
from ksys_app.data.repository.unconfigured import UnconfiguredRepository

__all__ = [
    "COMM", "FEATURES", "FEATURES_BUCKET", "HEATMAP_DAYS", "METRICS", "SNAPSHOT", "TAGS",
    "ReadContext", "Reads", "Repository", "UnconfiguredRepository", "close_repository",
    "get_repository",
]

_default: Repository | UnconfiguredRepository | None = None


def get_repository() -> Repository | UnconfiguredRepository:
    """The process-wide repository, built from load_settings() on first use.

    A bad configuration does not raise here: every read then returns a CONFIG
    error naming the variable, which the page shows like any other error.
    """
    global _default
    if _default is None:
        try:
            _default = Repository(load_settings())
        except ConfigError as exc:
            _default = UnconfiguredRepository(str(exc))
    return _default


async def close_repository() -> None:
    """Close the default repository's pool (app shutdown); the next use builds a new one."""
    global _default
    repo, _default = _default, None
    if repo is not None:
        await repo.close()
