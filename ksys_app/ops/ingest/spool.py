"""The store-and-forward spool: batches the database could not take, on disk, in order.

One append-only file per ingest instance:

    header   b"KSYSSPL1"
    record   length (4 bytes, big-endian) | CRC-32 of the body (4 bytes) | body (an encoded Batch)

Each append is fsync'd before ingest acknowledges the batch's messages to the
broker, so a batch acknowledged is either in the database or in this file. A
record cut short by a crash (power loss, SIGKILL mid-write) can only be the last
one and was never acknowledged (the broker still has its messages): at open it is
detected by its length or checksum, dropped with a log line, and the file is
truncated to the good records before it.

Replay reads from a cursor kept in a sidecar file (`<name>.done`, the offset of the
first record not yet written). The cursor is written after the database committed
the record, so a crash replays a record at most twice, which the writer's
ON CONFLICT makes harmless. When every record is replayed the file is cut back to
its header. The bound is on the file's size: an append that would pass it is
refused (`append` returns False) and ingest stops acknowledging.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"KSYSSPL1"
HEAD = struct.Struct(">II")
MAX_RECORD = 1 << 30


@dataclass(frozen=True)
class Torn:
    """What opening the spool dropped: the offset of the bad record and the bytes cut."""
    offset: int
    dropped_bytes: int
    reason: str


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, path: Path, max_bytes: int):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.cursor_path = self.path.with_name(self.path.name + ".done")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self._f = open(self.path, "a+b")
        if new or self._size() == 0:
            self._f.write(MAGIC)
            self._sync()
            _fsync_dir(self.path.parent)
        self.torn = self._check()
        self.end = self._size()
        self.cursor = self._read_cursor()

    # -- opening --------------------------------------------------------------------
    def _size(self) -> int:
        return os.fstat(self._f.fileno()).st_size

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def _check(self) -> Torn | None:
        """Walk every record; cut the file at the first one that is incomplete or fails its checksum."""
        self._f.seek(0)
        if self._f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{self.path} is not a ksys ingest spool (bad header); move it away to start afresh")
        offset, size = len(MAGIC), self._size()
        while offset < size:
            reason = None
            self._f.seek(offset)
            head = self._f.read(HEAD.size)
            if len(head) < HEAD.size:
                reason = "incomplete record header"
            else:
                length, crc = HEAD.unpack(head)
                body = self._f.read(length) if length <= MAX_RECORD else b""
                if length > MAX_RECORD or len(body) < length:
                    reason = "incomplete record"
                elif zlib.crc32(body) != crc:
                    reason = "checksum mismatch"
            if reason:
                self._f.truncate(offset)
                self._sync()
                return Torn(offset, size - offset, reason)
            offset += HEAD.size + length
        return None

    def _read_cursor(self) -> int:
        try:
            cursor = int(self.cursor_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            cursor = 0
        # a cursor past the end: the file was cut back after a full replay, the sidecar not yet removed
        return cursor if len(MAGIC) <= cursor <= self.end else len(MAGIC)

    # -- use --------------------------------------------------------------------------
    @property
    def pending_bytes(self) -> int:
        return self.end - self.cursor

    @property
    def size(self) -> int:
        return self.end

    @property
    def has_pending(self) -> bool:
        return self.cursor < self.end

    def fits(self, body_len: int) -> bool:
        return self.end + HEAD.size + body_len <= self.max_bytes

    def append(self, body: bytes) -> bool:
        """Append one record and fsync it; False (nothing written) when it would pass max_bytes."""
        if not self.fits(len(body)):
            return False
        self._f.seek(0, os.SEEK_END)
        self._f.write(HEAD.pack(len(body), zlib.crc32(body)) + body)
        self._sync()
        self.end = self._size()
        return True

    def peek(self) -> tuple[bytes, int] | None:
        """The next record to replay and the offset after it, or None."""
        if not self.has_pending:
            return None
        self._f.seek(self.cursor)
        length, _crc = HEAD.unpack(self._f.read(HEAD.size))
        return self._f.read(length), self.cursor + HEAD.size + length

    def done(self, offset: int) -> None:
        """Records before `offset` are in the database."""
        self.cursor = offset
        if self.cursor >= self.end:
            self._f.truncate(len(MAGIC))
            self._sync()
            self.end = self.cursor = len(MAGIC)
            self.cursor_path.unlink(missing_ok=True)
            return
        tmp = self.cursor_path.with_name(self.cursor_path.name + ".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.cursor_path)

    def close(self) -> None:
        self._f.close()
