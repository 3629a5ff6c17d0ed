"""Presence and kind rules, in both engines."""

import pytest

from tests.quality.support import assert_verdicts, typed_verdicts

pytestmark = pytest.mark.integration

F = "payload.x"


def test_not_null(spark):
    assert_verdicts(
        spark,
        {"rule": "not_null", "field": F},
        [
            ({"x": 1}, True),
            ({"x": ""}, True),
            ({"x": 0}, True),
            ({"x": False}, True),
            ({"x": []}, True),
            ({"x": None}, False),
            ({}, False),
            ({"y": 1}, False),
        ],
    )


def test_is_null(spark):
    assert_verdicts(spark, {"rule": "is_null", "field": F}, [({}, True), ({"x": None}, True), ({"x": 0}, False)])


def test_not_empty(spark):
    assert_verdicts(
        spark,
        {"rule": "not_empty", "field": F},
        [
            ({"x": "a"}, True),
            ({"x": ""}, False),
            ({"x": []}, False),
            ({"x": [None]}, True),
            ({"x": {}}, False),
            ({"x": {"a": 1}}, True),
            ({"x": 0}, True),
            ({"x": None}, False),
            ({}, False),
        ],
    )


def test_not_blank(spark):
    assert_verdicts(
        spark,
        {"rule": "not_blank", "field": F},
        [
            ({"x": "a"}, True),
            ({"x": " \t\n"}, False),
            ({"x": ""}, False),
            ({"x": "\u00a0"}, True),
            ({"x": " é "}, True),
            ({"x": 1}, False),
            ({}, False),
        ],
    )


@pytest.mark.parametrize(
    ("rule", "passing", "failing"),
    [
        ("is_string", ["a", "", "1"], [1, 1.5, True, [], {}]),
        ("is_integer", [0, -7, 2**53], [1.0, 1.5, "1", True, []]),
        ("is_number", [0, 1.5, -2e10, 1.0], ["1", True, "x", {}]),
        ("is_boolean", [True, False], [0, 1, "true"]),
        ("is_array", [[], [1, "a"]], ["[]", {}, 1]),
        ("is_object", [{}, {"a": [1]}], [[], "{}"]),
        (
            "is_timestamp",
            ["2026-11-25T10:00:00Z", "2026-11-25 10:00:00.5+02:00"],
            ["2026-11-25T10:00:00", "2026-02-30T10:00:00Z", "2026-11-25T24:00:00Z", "0000-01-01T00:00:00Z", 5, "x"],
        ),
    ],
)
def test_kinds(spark, rule, passing, failing):
    cases = [({"x": v}, True) for v in passing] + [({"x": v}, False) for v in failing]
    cases += [({}, True), ({"x": None}, True)]
    assert_verdicts(spark, {"rule": rule, "field": F}, cases)


def test_kinds_on_typed_columns(spark):
    rows = [{"n": 1, "s": "a", "d": 1.5}, {"n": None, "s": None, "d": None}]
    schema = "n long, s string, d double"
    assert typed_verdicts(spark, {"rule": "is_integer", "field": "n"}, rows, schema) == ([True, True], [True, True])
    assert typed_verdicts(spark, {"rule": "is_integer", "field": "d"}, rows, schema) == ([False, True], [False, True])
    assert typed_verdicts(spark, {"rule": "not_null", "field": "s"}, rows, schema) == ([True, False], [True, False])
