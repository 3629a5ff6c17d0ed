"""The plan of `weir compact` (batch.compact_plan: closed dates, Delta's bin packing, the OPTIMIZE predicates)
and its conflict retries (batch.compact.retrying): pure logic, no Spark."""

import datetime as dt

import pytest

from batch import compact
from batch.compact_plan import bins, candidate, predicate, window
from batch.exceptions import BadRangeError, ConflictError


def test_bins_pack_small_files_smallest_first_and_leave_single_file_bins_alone():
    assert bins([10, 10, 10], 100) == [[10, 10, 10]]
    assert bins([60, 50, 40, 30], 100) == [[30, 40]]  # 30+40 | 50 (alone: left) | 60 (alone: left)
    assert bins([200, 300], 100) == []  # at or above the target: never touched
    assert bins([99], 100) == []
    c = candidate({"d": "2026-01-02"}, dt.date(2026, 1, 2), [30, 40, 50, 60, 500], target=100, min_files=2)
    assert c is not None
    assert (c.files, c.bytes, c.merged_files, c.bins, c.files_after) == (5, 680, 2, 1, 4)
    assert candidate({"d": "x"}, dt.date(2026, 1, 2), [90, 95], target=100, min_files=2) is None


def test_the_window_stops_at_the_last_closed_date_and_says_so():
    today = dt.date(2026, 3, 10)
    assert window(None, None, today) == (None, dt.date(2026, 3, 8), [])
    lo, hi, notes = window(dt.date(2026, 3, 1), dt.date(2026, 3, 20), today)
    assert (lo, hi) == (dt.date(2026, 3, 1), dt.date(2026, 3, 8))
    assert "reaches into open dates" in notes[0]
    assert "2026-03-08" in notes[0]
    assert window(None, dt.date(2026, 3, 5), today)[1] == dt.date(2026, 3, 5)
    with pytest.raises(BadRangeError, match="after"):
        window(dt.date(2026, 3, 5), dt.date(2026, 3, 1), today)


def test_predicates_name_exactly_the_partitions():
    one = candidate({"event_date": "2026-01-02"}, dt.date(2026, 1, 2), [1, 1], target=10, min_files=2)
    two = candidate({"event_date": "2026-01-03"}, dt.date(2026, 1, 3), [1, 1], target=10, min_files=2)
    assert one is not None
    assert two is not None
    assert predicate([one, two], frozenset({"event_date"})) == "`event_date` IN (DATE'2026-01-02', DATE'2026-01-03')"
    typed = candidate({"event_date": "2026-01-02", "event_type": "o'k"}, one.date, [1, 1], target=10, min_files=2)
    assert typed is not None
    assert (
        predicate([typed], frozenset({"event_date"})) == "(`event_date` = DATE'2026-01-02' AND `event_type` = 'o\\'k')"
    )
    assert typed.name == "event_date=2026-01-02/event_type=o'k"


def test_a_lost_conflict_is_retried_then_named():
    from delta.exceptions import ConcurrentAppendException, ConcurrentDeleteReadException

    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentAppendException(message="another writer")
        return "done"

    assert compact.retrying(flaky, 2, str, pause=0) == "done"
    assert len(calls) == 3

    def always() -> None:
        raise ConcurrentDeleteReadException(message="a MERGE")

    with pytest.raises(ConflictError, match="silver/events: 2 tries"):
        compact.retrying(always, 1, lambda exc: f"silver/events: 2 tries, {type(exc).__name__}", pause=0)
    with pytest.raises(ValueError, match="invalid literal"):  # anything else is not retried
        compact.retrying(lambda: int("x"), 3, str)
