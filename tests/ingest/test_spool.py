"""The spool file on its own: records come back in order, a record cut short or corrupted
at the end (a crash mid-append) is dropped at open with what it cost, the bound holds,
and a full replay cuts the file back to its header."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ksys_app.ops.ingest import batch as batches
from ksys_app.ops.ingest.spool import HEAD, MAGIC, Spool


def _batch(i: int) -> bytes:
    ts = datetime(2026, 12, 1, 0, 0, i, 123456, tzinfo=timezone.utc)
    return batches.encode(batches.Batch([batches.Row(ts, f"T{i}", i + 0.5, i % 64)],
                                        [batches.DeadLetter.of(ts, "ksys/x", "not_json", "bad", b"\xff" * 5000)]))


def _replay(spool: Spool) -> list[bytes]:
    out = []
    while (record := spool.peek()) is not None:
        body, after = record
        out.append(body)
        spool.done(after)
    return out


def test_records_come_back_in_order_and_exactly(tmp_path):
    spool = Spool(tmp_path / "s.spool", 1 << 20)
    bodies = [_batch(i) for i in range(5)]
    for b in bodies:
        assert spool.append(b)
    spool.close()
    again = Spool(tmp_path / "s.spool", 1 << 20)
    assert again.torn is None and again.pending_bytes == sum(HEAD.size + len(b) for b in bodies)
    got = _replay(again)
    assert got == bodies
    b = batches.decode(got[3])
    assert b.rows[0].ts.microsecond == 123456 and b.rows[0].qc == 3
    assert b.dead[0].payload == b"\xff" * 4096 and b.dead[0].payload_bytes == 5000
    assert (tmp_path / "s.spool").stat().st_size == len(MAGIC) and not again.has_pending


@pytest.mark.parametrize("damage", ["cut_header", "cut_body", "flip_byte"])
def test_a_torn_last_record_is_dropped_at_open(tmp_path, damage):
    path = tmp_path / "s.spool"
    spool = Spool(path, 1 << 20)
    for i in range(3):
        spool.append(_batch(i))
    good = path.stat().st_size
    spool.append(_batch(3))
    spool.close()
    data = bytearray(path.read_bytes())
    if damage == "cut_header":
        data = data[:good + 3]
    elif damage == "cut_body":
        data = data[:-10]
    else:
        data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    again = Spool(path, 1 << 20)
    assert again.torn is not None and again.torn.offset == good
    assert again.torn.dropped_bytes == len(data) - good
    assert path.stat().st_size == good
    assert _replay(again) == [_batch(i) for i in range(3)]


def test_a_replay_cut_short_resumes_at_its_cursor(tmp_path):
    path = tmp_path / "s.spool"
    spool = Spool(path, 1 << 20)
    for i in range(4):
        spool.append(_batch(i))
    body, after = spool.peek()
    spool.done(after)                              # one written, then a crash
    spool.close()
    assert _replay(Spool(path, 1 << 20)) == [_batch(i) for i in range(1, 4)]


def test_the_bound_refuses_an_append_and_writes_nothing(tmp_path):
    spool = Spool(tmp_path / "s.spool", 1 << 20)
    big = b"x" * (600 << 10)
    assert spool.append(big)
    size = spool.size
    assert not spool.append(big)
    assert spool.size == size == (tmp_path / "s.spool").stat().st_size


def test_a_file_that_is_not_a_spool_is_refused(tmp_path):
    (tmp_path / "s.spool").write_bytes(b"something else")
    with pytest.raises(ValueError, match="not a ksys ingest spool"):
        Spool(tmp_path / "s.spool", 1 << 20)
