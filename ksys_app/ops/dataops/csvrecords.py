"""CSV records with the line each starts on: what `ksys backfill` and `ksys qc`
name in their messages (a quoted field may span lines, so csv.reader's count of
lines read is not the record number)."""

from __future__ import annotations

import csv
from typing import Iterator


def numbered(reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(first line, cells) per record after what `reader` has read already; an
    unreadable record gives its csv.Error instead of cells and reading goes on.
    Decoding and I/O errors propagate."""
    line_no = reader.line_num
    while True:
        start = line_no + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_no = reader.line_num
            yield start, exc
            continue
        line_no = reader.line_num
        yield start, cells
