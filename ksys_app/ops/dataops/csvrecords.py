"""CSV files for `ksys backfill` and `ksys qc`: opened, decoded and read the same way.

A file may be gzip-compressed; it must be UTF-8 (a BOM is fine). Lines are read
bounded (ksys_app.domain.inputs.bounded_lines), so a file without newlines is
refused after a megabyte instead of being read whole. Every problem reading the
file (not UTF-8, UTF-16, a broken gzip stream, a line too long) is one OpsError
naming the file and the line; a record the csv module cannot parse is yielded
as its csv.Error so the caller can report it with its line and go on.

Records come with the line each starts on: what the commands name in their
messages (a quoted field may span lines, so csv.reader's count of lines read
is not the record number).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path
from typing import Iterator

from ksys_app.domain.inputs import InputError, bounded_lines
from ksys_app.ops.errors import OpsError

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_READ_ERRORS = (UnicodeDecodeError, OSError, EOFError, zlib.error, InputError)


class CsvFile:
    """An open CSV file: `header()` then `records()`; `position()` is the byte offset read
    (of the compressed file, for progress)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.raw = open(self.path, "rb")
        except OSError as exc:
            raise OpsError(f"cannot read {self.path}: {exc.strerror}") from None
        magic = self.raw.read(2)
        self.raw.seek(0)
        if magic in _UTF16_BOMS:
            self.raw.close()
            raise OpsError(f"{self.path}: the file is UTF-16 text; save it as UTF-8 (CSV UTF-8 in a spreadsheet)")
        stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if magic == b"\x1f\x8b" else self.raw
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        self.reader = csv.reader(bounded_lines(self.text))

    def __enter__(self) -> "CsvFile":
        return self

    def __exit__(self, *_exc) -> None:
        self.text.close()
        self.raw.close()

    def position(self) -> int:
        return self.raw.tell()

    def _failed(self, exc: BaseException) -> OpsError:
        line = self.reader.line_num + 1
        if isinstance(exc, UnicodeDecodeError):
            why = "not UTF-8 text (save it as UTF-8)"
        elif isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
            why = "the gzip stream is truncated or corrupt"
        elif isinstance(exc, InputError):
            return OpsError(f"{self.path}: {exc}")
        else:
            why = str(exc) or type(exc).__name__
        return OpsError(f"{self.path}: cannot read line {line}: {why}")

    def header(self) -> list[str] | None:
        """The first record, or None for an empty file; an unparsable header is an OpsError."""
        try:
            return next(self.reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise OpsError(f"{self.path}: line 1: {exc}") from None
        except _READ_ERRORS as exc:
            raise self._failed(exc) from None

    def records(self) -> Iterator[tuple[int, list[str] | csv.Error]]:
        """(first line, cells) per record after the header; an unparsable record gives its
        csv.Error instead of cells and reading goes on."""
        line_no = self.reader.line_num
        while True:
            start = line_no + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line_no = self.reader.line_num
                yield start, exc
                continue
            except _READ_ERRORS as exc:
                raise self._failed(exc) from None
            line_no = self.reader.line_num
            yield start, cells
