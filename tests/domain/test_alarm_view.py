from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ksys_app.domain.alarm_view import (
    PRIORITY_FILTERS,
    STATE_FILTERS,
    actions_of,
    parse_filter,
    shelve_minutes,
    to_acknowledge,
    unack_counts,
    visible,
)
from ksys_app.domain.alarms import Action
from ksys_app.domain.inputs import InputError

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def row(tag, kind="warn_high", priority="medium", state="unack", active=True, since_min=0, until=None):
    at = T0 + timedelta(minutes=since_min)
    return SimpleNamespace(tag_name=tag, kind=kind, priority=priority, state=state, active=active,
                           active_since=at if active else None, state_since=at, shelved_until=until)


def test_order_high_first_then_unacknowledged_then_oldest():
    rows = [row("A", since_min=1), row("B", priority="high", state="acked", since_min=0),
            row("C", priority="high", since_min=5), row("D", state="acked", since_min=-10),
            row("E", since_min=0), row("N", state="normal")]
    assert [r.tag_name for r in visible(rows)] == ["C", "B", "E", "A", "D"]


def test_filters():
    rows = [row("A"), row("B", priority="high"), row("C", state="shelved", until=T0)]
    assert [r.tag_name for r in visible(rows, priority="high")] == ["B"]
    assert [r.tag_name for r in visible(rows, state="shelved")] == ["C"]
    assert visible(rows, "high", "shelved") == []


@pytest.mark.parametrize("value,expected", [(None, ("all", False)), ("", ("all", False)), ("high", ("high", False)),
                                            ("HIGH", ("all", True)), ("<x>", ("all", True)), (3, ("all", True))])
def test_parse_filter(value, expected):
    assert parse_filter(value, PRIORITY_FILTERS) == expected


def test_state_filters_have_no_normal():
    assert "normal" not in STATE_FILTERS and "rtn_unack" in STATE_FILTERS


def test_counts_and_buttons():
    assert unack_counts([("high", 2), ("medium", 3), ("low", 1)]) == (2, 4)
    assert unack_counts([]) == (0, 0)
    assert actions_of(row("A")) == {Action.ACK, Action.SHELVE}
    assert actions_of(row("A", state="acked")) == {Action.SHELVE}
    assert actions_of(row("A", state="shelved", until=T0)) == {Action.SHELVE, Action.UNSHELVE}
    assert actions_of(row("A", state="out_of_service")) == frozenset()
    assert to_acknowledge([row("A"), row("B", state="rtn_unack", active=False), row("C", state="acked")]) == [
        ("A", "warn_high"), ("B", "warn_high")]


@pytest.mark.parametrize("ok", [15, "60", 240, " 480 "])
def test_shelve_minutes_ok(ok):
    assert shelve_minutes(ok) in (15, 60, 240, 480)


@pytest.mark.parametrize("bad", [0, -15, 14, 99999, "abc", "", None, True, 60.0, "١٥", "9" * 40, [60]])
def test_shelve_minutes_refused(bad):
    with pytest.raises(InputError, match="shelve for one of 15, 60, 240, 480 minutes"):
        shelve_minutes(bad)
