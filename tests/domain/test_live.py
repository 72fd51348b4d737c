"""domain.live: which parts a live page reads on a tick, and the navbar's database status."""

from __future__ import annotations

from ksys_app.domain.live import db_status, due_parts, retry_countdown_s

PERIODS = {"snapshot": 60.0, "tiles": 30.0}


def test_a_part_never_read_is_due():
    assert due_parts(5.0, {}, PERIODS, 1.0) == {"snapshot", "tiles"}


def test_parts_are_due_once_their_period_passed():
    read = {"snapshot": 100.0, "tiles": 100.0}
    assert due_parts(129.9, read, PERIODS, 1.0) == set()
    assert due_parts(130.0, read, PERIODS, 1.0) == {"tiles"}
    assert due_parts(160.0, read, PERIODS, 1.0) == {"snapshot", "tiles"}


def test_a_tab_shown_after_a_long_time_reads_every_part_at_once():
    assert due_parts(10_000.0, {"snapshot": 100.0, "tiles": 100.0}, PERIODS, 1.0) == {"snapshot", "tiles"}


def test_a_zero_period_refreshes_no_faster_than_the_tick():
    # cache TTL 0 means "never cached", not "read continuously"
    assert due_parts(100.5, {"all": 100.0}, {"all": 0.0}, 1.0) == set()
    assert due_parts(101.0, {"all": 100.0}, {"all": 0.0}, 1.0) == {"all"}


def test_retry_countdown_counts_whole_seconds_and_never_shows_zero():
    assert retry_countdown_s(10.0, 14.0) == 4
    assert retry_countdown_s(10.0, 13.2) == 4
    assert retry_countdown_s(10.0, 10.1) == 1
    assert retry_countdown_s(10.0, 9.0) == 1


def test_db_status():
    assert db_status(failed=False, stale=False, probe_down=False, has_rows=True) == "ok"
    assert db_status(failed=False, stale=False, probe_down=False, has_rows=False) == "ok"
    # a read served its last good rows
    assert db_status(failed=True, stale=True, probe_down=False, has_rows=True) == "stale"
    # a read failed with nothing to fall back on
    assert db_status(failed=True, stale=False, probe_down=False, has_rows=False) == "down"
    # the probe: the server stopped answering after the rows shown were read
    assert db_status(failed=False, stale=False, probe_down=True, has_rows=True) == "stale"
    assert db_status(failed=False, stale=False, probe_down=True, has_rows=False) == "down"


def test_only_a_fresh_answer_from_the_database_counts_as_answered():
    from datetime import datetime, timezone

    from ksys_app.data.errors import DataError, ErrorCode
    from ksys_app.data.result import ReadResult
    from ksys_app.states.outcomes import db_answered

    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    conn = DataError(ErrorCode.DB_CONN, "down")
    assert db_answered([ReadResult(rows=(1,), fetched_at=at)])
    assert db_answered([ReadResult(rows=(), fetched_at=at, error=DataError(ErrorCode.NO_ROWS, "none"))])
    assert not db_answered([ReadResult(rows=(1,), fetched_at=at, cache_hit=True)])
    assert not db_answered([ReadResult(rows=(1,), fetched_at=at, stale=True, error=conn)])
    assert not db_answered([ReadResult(error=conn)])
    assert not db_answered([])


def test_replica_note_says_up_to_date_or_how_far_behind():
    from ksys_app.data.probe import Standby
    from ksys_app.domain.live import replica_note

    assert replica_note(None) == ""
    assert replica_note(Standby(0.0)) == replica_note(Standby(0.9)) == "replica, up to date"
    assert replica_note(Standby(12.4)) == "replica, 12 s behind"
    assert replica_note(Standby(3725.0)) == "replica, 3,725 s behind"
    assert replica_note(Standby(None)) == "replica, lag unknown"
    assert replica_note(Standby(5.0), "ko") == "복제본, 5초 지연"


def test_replica_note_is_honest_when_the_replica_is_cut_off_or_fresh():
    from ksys_app.data.probe import Standby
    from ksys_app.domain.live import replica_note, short_age

    # cut off from the primary it has replayed all it has (lag 0), which is not "up to date"
    assert replica_note(Standby(0.0, receiving=False, replay_age_s=95.0)) == \
        "replica, not receiving from the primary; last change 1 min ago"
    assert replica_note(Standby(0.0, receiving=False)) == "replica, not receiving from the primary"
    assert replica_note(Standby(0.0, receiving=False, replay_age_s=7200.0), "ko") == \
        "복제본, 주 서버로부터 수신 없음; 마지막 변경 2시간 전"
    # fresh: nothing replayed yet, so no lag in seconds, but WAL still to replay
    assert replica_note(Standby(None, behind_bytes=48_300_000.0)) == "replica, catching up: 48.3 MB to replay"
    assert replica_note(Standby(None, behind_bytes=2_000.0)) == "replica, catching up: 0.1 MB to replay"
    assert replica_note(Standby(None, behind_bytes=0.0)) == "replica, lag unknown"
    assert [short_age(s) for s in (0, 59.9, 60, 3599, 3600, 86399, 86400 * 400)] == \
        ["0 s", "59 s", "1 min", "59 min", "1 h", "23 h", "400 d"]
