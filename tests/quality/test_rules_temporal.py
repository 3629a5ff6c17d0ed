"""Time rules, in both engines, at the fixed instant `NOW` (2026-11-25T12:00:00Z) both are given."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from quality.exceptions import ContractError
from quality.loader import parse_contract
from tests.quality.support import NOW, assert_verdicts, one_rule, typed_verdicts

F = "payload.at"
integration = pytest.mark.integration

# Not timestamps at all: every timestamp rule fails them; null and absent pass.
NOT_TIMESTAMPS = [
    "2026-11-25T12:00:00",  # no offset
    "2026-11-25",
    "2026-02-30T00:00:00Z",
    "2026-11-25T24:00:00Z",
    "2026-11-25T12:00:00.1234567Z",  # 7 fraction digits
    "\uff12\uff10\uff12\uff16-11-25T12:00:00Z",  # fullwidth digits
    "",
    "now",
    1764072000,
    True,
    ["2026-11-25T12:00:00Z"],
]
NULLS = [({"at": None}, True), ({}, True)]


def rule(name, **params):
    return {"rule": name, "field": F, "params": params}


def cases(passing, failing):
    return [({"at": v}, True) for v in passing] + [({"at": v}, False) for v in failing + NOT_TIMESTAMPS] + NULLS


@integration
def test_not_in_future(spark):
    assert_verdicts(
        spark,
        rule("not_in_future"),  # default skew: 300 s
        cases(
            [
                "2026-11-25T12:05:00Z",
                "2026-11-25T12:04:59.999999Z",
                "2026-11-25T14:05:00+02:00",
                "2026-11-25 12:00:00Z",
                "2026-11-25T07:05:00-05:00",
                "1999-01-01T00:00:00Z",
                "0001-01-01T00:00:00Z",
            ],
            [
                "2026-11-25T12:05:00.000001Z",
                "2026-11-25T14:05:01+02:00",
                "2026-11-26T00:00:00Z",
                "9999-12-31T23:59:59Z",
            ],
        ),
    )


@integration
def test_not_in_future_without_skew(spark):
    assert_verdicts(
        spark,
        rule("not_in_future", skew_seconds=0),
        [({"at": "2026-11-25T12:00:00Z"}, True), ({"at": "2026-11-25T12:00:00.000001Z"}, False), ({}, True)],
    )


@integration
def test_not_older_than(spark):
    assert_verdicts(
        spark,
        rule("not_older_than", max_age_seconds=3600),
        cases(
            [
                "2026-11-25T11:00:00Z",
                "2026-11-25T12:00:00+01:00",
                "2030-01-01T00:00:00Z",
                "2026-11-25T11:00:00.000001Z",
            ],
            ["2026-11-25T10:59:59.999999Z", "2026-11-25T12:00:00+14:00", "1999-01-01T00:00:00Z"],
        ),
    )


@integration
def test_timestamp_between_is_inclusive_and_compares_instants(spark):
    assert_verdicts(
        spark,
        rule("timestamp_between", start="2026-01-01T00:00:00+01:00", end="2026-12-31T23:59:59.999999Z"),
        cases(
            [
                "2025-12-31T23:00:00Z",
                "2026-01-01T00:00:00+01:00",
                "2026-12-31T23:59:59.999999Z",
                "2027-01-01T00:59:59.5+01:00",
                "2026-06-15 08:30:00.123-07:00",
            ],
            [
                "2025-12-31T22:59:59.999999Z",
                "2027-01-01T00:00:00Z",
                "2026-12-31T23:59:59-00:01",
                "1970-01-01T00:00:00Z",
            ],
        ),
    )


@integration
def test_timestamp_rules_on_typed_columns(spark):
    rows = [
        {"ts": NOW + timedelta(seconds=300), "s": "2026-11-25T12:05:00Z", "d": date(2026, 11, 25), "n": 1},
        {"ts": NOW + timedelta(seconds=300, microseconds=1), "s": "2026-11-25T12:06:00Z", "d": None, "n": None},
        {"ts": datetime(2026, 11, 25, 13, tzinfo=timezone(timedelta(hours=2))), "s": "soon", "d": None, "n": 2},
        {"ts": None, "s": None, "d": None, "n": None},
    ]
    schema = "ts timestamp, s string, d date, n long"
    entry = {"rule": "not_in_future", "params": {"skew_seconds": 300}}
    assert typed_verdicts(spark, {**entry, "field": "ts"}, rows, schema) == ([True, False, True, True],) * 2
    assert typed_verdicts(spark, {**entry, "field": "s"}, rows, schema) == ([True, False, False, True],) * 2
    # A date or a number is not a timestamp.
    assert typed_verdicts(spark, {**entry, "field": "d"}, rows, schema) == ([False, True, True, True],) * 2
    assert typed_verdicts(spark, {**entry, "field": "n"}, rows, schema) == ([False, True, False, True],) * 2


@integration
def test_date_between(spark):
    assert_verdicts(
        spark,
        {"rule": "date_between", "field": "payload.d", "params": {"start": "1900-01-01", "end": "2026-12-31"}},
        [
            ({"d": "1900-01-01"}, True),
            ({"d": "2026-12-31"}, True),
            ({"d": "2024-02-29"}, True),
            ({"d": "1899-12-31"}, False),
            ({"d": "2027-01-01"}, False),
            ({"d": "2026-02-29"}, False),
            ({"d": "2026-1-5"}, False),
            ({"d": "2026-11-25T00:00:00Z"}, False),
            ({"d": " 2026-11-25"}, False),
            ({"d": "\uff12\uff10\uff12\uff16-11-25"}, False),
            ({"d": 20261125}, False),
            ({"d": ""}, False),
            ({"d": None}, True),
            ({}, True),
        ],
    )


@integration
def test_date_between_on_typed_columns(spark):
    rows = [
        {"d": date(1900, 1, 1), "s": "2000-01-01", "ts": datetime(2000, 1, 1, tzinfo=UTC)},
        {"d": date(2027, 1, 1), "s": "2000-13-01", "ts": None},
        {"d": None, "s": None, "ts": None},
    ]
    schema = "d date, s string, ts timestamp"
    entry = {"rule": "date_between", "params": {"start": "1900-01-01", "end": "2026-12-31"}}
    assert typed_verdicts(spark, {**entry, "field": "d"}, rows, schema) == ([True, False, True],) * 2
    assert typed_verdicts(spark, {**entry, "field": "s"}, rows, schema) == ([True, False, True],) * 2
    assert typed_verdicts(spark, {**entry, "field": "ts"}, rows, schema) == ([False, True, True],) * 2


def _yaml(rule_name, params):
    return f"event_type: t\nrules:\n  - id: r\n    rule: {rule_name}\n    field: {F}\n    params: {params}\n"


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (rule("not_in_future", skew_seconds=-1), "greater than or equal to 0"),
        (rule("not_in_future", skew_seconds=1.5), "valid integer"),
        (rule("not_in_future", skew_seconds="300"), "valid integer"),
        (rule("not_older_than"), "params.max_age_seconds: Field required"),
        (rule("not_older_than", max_age_seconds=10**12), "less than or equal to"),
        (rule("timestamp_between", start="2026-01-01T00:00:00", end="2027-01-01T00:00:00Z"), "with an offset"),
        (rule("timestamp_between", start="yesterday", end="2027-01-01T00:00:00Z"), "not an RFC 3339 timestamp"),
        (rule("timestamp_between", start="2026-02-30T00:00:00Z", end="2027-01-01T00:00:00Z"), "not a valid"),
        (rule("timestamp_between", start="0001-01-01T00:00:00+01:00", end="2027-01-01T00:00:00Z"), "not a valid"),
        (rule("timestamp_between", start="2027-01-01T00:00:00Z", end="2026-01-01T00:00:00Z"), "must not be after"),
        (rule("timestamp_between", start=1, end="2026-01-01T00:00:00Z"), "not an RFC 3339 timestamp"),
        (rule("date_between", start="2026-12-31", end="2026-01-01"), r"start \(2026-12-31\) must not be after"),
        (rule("date_between", start="2026-02-30", end="2027-01-01"), "not a valid date"),
        (rule("date_between", start="20260101", end="2027-01-01"), "not an ISO date"),
        (rule("date_between", start="2026-01-01T00:00:00Z", end="2027-01-01"), "not an ISO date"),
    ],
)
def test_params_are_validated(entry, error):
    with pytest.raises(ContractError, match=error):
        one_rule(entry)


def test_yaml_timestamps_and_dates_are_accepted_unquoted_but_need_an_offset():
    ok = parse_contract(_yaml("timestamp_between", "{start: 2026-01-01T00:00:00+01:00, end: 2026-12-31T00:00:00Z}"))
    assert ok.row_rules[0].params.start == datetime(2025, 12, 31, 23, tzinfo=UTC)
    with pytest.raises(ContractError, match="needs a UTC offset"):
        parse_contract(_yaml("timestamp_between", "{start: 2026-01-01 00:00:00, end: 2026-12-31T00:00:00Z}"))
    days = parse_contract(_yaml("date_between", "{start: 2026-01-01, end: '2026-12-31'}"))
    assert (days.row_rules[0].params.start, days.row_rules[0].params.end) == (date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(ContractError, match="is a timestamp"):
        parse_contract(_yaml("date_between", "{start: 2026-01-01T00:00:00Z, end: 2026-12-31}"))


def test_defaults_and_messages():
    compiled = one_rule(rule("not_in_future"))[0]
    assert compiled.params.skew_seconds == 300
    assert compiled.message == "payload.at must not be in the future (allowed skew: 300 s)"
    days = one_rule(rule("date_between", start="2000-01-01", end="2000-12-31"))[0]
    assert days.message == "payload.at must be a date between 2000-01-01 and 2000-12-31"
