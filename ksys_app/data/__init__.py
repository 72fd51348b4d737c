"""Data layer: the asyncpg pool, every SQL read (ksys_app.data.queries), the TTL cache.

Pages use `get_repository()` and the ReadResult values it returns; nothing here
imports reflex. Import submodules directly for anything else.
"""

from ksys_app.data.errors import RETRY_SCHEDULE_S, DataError, ErrorCode, retry_delay_s
from ksys_app.data.repository import Repository, close_repository, get_repository
from ksys_app.data.result import ReadResult

__all__ = [
    "RETRY_SCHEDULE_S", "DataError", "ErrorCode", "ReadResult", "Repository",
    "close_repository", "get_repository", "retry_delay_s",
]
