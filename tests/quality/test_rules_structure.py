"""Cross-field and array rules in both engines; `sql_expression` in Spark only."""

from datetime import UTC, datetime

import orjson
import pytest

from quality.engines.python import evaluate, supports
from quality.engines.spark import with_dq_failures
from quality.exceptions import ContractError, UnsupportedRuleError
from quality.loader import parse_contract
from tests.quality.support import NOW, assert_verdicts, one_rule, typed_verdicts

integration = pytest.mark.integration
NAN, INF = float("nan"), float("inf")


@integration
def test_required_if_equals_a_string(spark):
    entry = {
        "rule": "required_if",
        "field": "payload.tracking",
        "params": {"when": "payload.status", "equals": "shipped"},
    }
    assert_verdicts(
        spark,
        entry,
        [
            ({"status": "shipped", "tracking": "1Z999"}, True),
            ({"status": "shipped", "tracking": ""}, True),  # empty is not null
            ({"status": "shipped"}, False),
            ({"status": "shipped", "tracking": None}, False),
            ({"status": "Shipped"}, True),
            ({"status": "shipped "}, True),
            ({"status": "pending"}, True),
            ({"status": ["shipped"]}, True),
            ({"status": None}, True),
            ({}, True),
            ({"tracking": None}, True),
        ],
    )


@integration
def test_required_if_unicode_equals_matches_code_points_exactly(spark):
    entry = {"rule": "required_if", "field": "payload.t", "params": {"when": "payload.s", "equals": "expédié"}}
    assert_verdicts(
        spark,
        entry,
        [({"s": "expédié"}, False), ({"s": "expe\u0301die\u0301"}, True), ({"s": "EXPÉDIÉ"}, True)],
    )


@integration
def test_required_if_without_equals_means_when_is_set(spark):
    entry = {"rule": "required_if", "field": "payload.owner", "params": {"when": "payload.coupon"}}
    cases = [({"coupon": "X1"}, False), ({"coupon": ""}, False), ({"coupon": False}, False), ({"coupon": None}, True)]
    cases += [({"coupon": 0, "owner": 0}, True), ({"coupon": "X1", "owner": "ana"}, True), ({}, True)]
    assert_verdicts(spark, entry, cases)


@integration
@pytest.mark.parametrize(
    ("equals", "matching", "other"),
    [
        (1, [1, 1.0], [True, "1", 2, 1.0000000000000002, [1]]),
        (True, [True], [1, "true", False]),
        (2.5, [2.5], ["2.5", 2, -2.5]),
    ],
)
def test_required_if_equals_by_kind(spark, equals, matching, other):
    entry = {"rule": "required_if", "field": "payload.t", "params": {"when": "payload.s", "equals": equals}}
    cases = [({"s": v}, False) for v in matching] + [({"s": v, "t": 1}, True) for v in matching]
    assert_verdicts(spark, entry, cases + [({"s": v}, True) for v in other])


def compare(op):
    return {"rule": "field_compare", "field": "payload.a", "params": {"op": op, "other": "payload.b"}}


@integration
def test_field_compare_le(spark):
    pairs = [
        # numbers, compared as doubles
        ((1, 2), True),
        ((2, 2), True),
        ((2.0, 2), True),
        ((3, 2), False),
        ((-0.0, 0), True),
        ((2**53 + 1, 2**53), True),
        ((-1e308, 1e308), True),
        # timestamps, compared as instants whatever their offsets
        (("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"), True),
        (("2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:00Z"), False),
        (("2026-01-01T10:00:00+05:00", "2026-01-01T06:00:00Z"), True),
        # strings, in code point order (= UTF-8 byte order; UTF-16 order would differ on the last two)
        (("a", "b"), True),
        (("b", "a"), False),
        (("B", "a"), True),
        (("é", "z"), False),
        (("日本", "日本"), True),
        (("", "a"), True),
        (("a", ""), False),
        (("😀", "\uffff"), False),
        (("\ue000", "😀"), True),
        (("2026-01-02", "2026-01-10"), True),
        (("2026-01-01T00:00:00Z", "zzz"), True),  # a timestamp and a plain string: both strings
        # nulls pass
        ((None, 5), True),
        ((5, None), True),
        ((None, "x"), True),
        # mismatched or unsupported kinds fail
        ((1, "1"), False),
        (("2026-01-01T00:00:00Z", 5), False),
        ((True, False), False),
        ((False, True), False),
        (([1], [2]), False),
        (({"x": 1}, {"x": 1}), False),
        ((1, True), False),
    ]
    cases = [({"a": a, "b": b}, ok) for (a, b), ok in pairs]
    cases += [({"b": 1}, True), ({"a": 1}, True), ({}, True)]
    assert_verdicts(spark, compare("le"), cases)


@integration
@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("lt", [True, False, False, True, False, False, False, False]),
        ("le", [True, True, False, True, True, False, True, False]),
        ("gt", [False, False, True, False, False, True, False, False]),
        ("ge", [False, True, True, False, True, True, True, False]),
        ("eq", [False, True, False, False, True, False, True, False]),
        ("ne", [True, False, True, True, False, True, False, False]),
    ],
)
def test_field_compare_ops(spark, op, expected):
    pairs = [(1, 2), (2, 2.0), (3, 2), ("a", "b"), ("é", "é"), ("b", "a")]
    pairs += [("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"), ("1", 1)]
    assert_verdicts(spark, compare(op), [({"a": a, "b": b}, ok) for (a, b), ok in zip(pairs, expected, strict=True)])


@integration
def test_field_compare_on_typed_columns(spark):
    rows = [
        {"x": NAN, "y": 1.0, "ts": datetime(2026, 1, 1, tzinfo=UTC), "s": "2026-01-01T00:00:00Z", "n": 1},
        {"x": 1.0, "y": NAN, "ts": datetime(2026, 1, 1, tzinfo=UTC), "s": "2025-12-31T23:59:59+00:00", "n": 2},
        {"x": -0.0, "y": 0.0, "ts": datetime(2026, 1, 1, tzinfo=UTC), "s": "not a time", "n": None},
        {"x": INF, "y": INF, "ts": None, "s": "x", "n": 3},
        {"x": -INF, "y": 0.0, "ts": datetime(2026, 1, 1, tzinfo=UTC), "s": None, "n": 4},
    ]
    schema = "x double, y double, ts timestamp, s string, n long"

    def entry(field, op, other):
        return {"rule": "field_compare", "field": field, "params": {"op": op, "other": other}}

    le = [False, False, True, True, True]
    assert typed_verdicts(spark, entry("x", "le", "y"), rows, schema) == (le, le)
    lt = [False, False, False, False, True]  # -0.0 < 0.0 is false in both engines
    assert typed_verdicts(spark, entry("x", "lt", "y"), rows, schema) == (lt, lt)
    ge = [True, True, False, True, True]  # a typed timestamp against RFC 3339 text; text that is no time fails
    assert typed_verdicts(spark, entry("ts", "ge", "s"), rows, schema) == (ge, ge)
    mixed = [False, False, True, True, False]  # a long and a timestamp are different kinds
    assert typed_verdicts(spark, entry("n", "lt", "ts"), rows, schema) == (mixed, mixed)


def sums(*fields, total="payload.t", **params):
    return {"rule": "sum_equals", "params": {"fields": [f"payload.{f}" for f in fields], "total": total, **params}}


@integration
def test_sum_equals(spark):
    assert_verdicts(
        spark,
        sums("a", "b"),
        [
            ({"a": 1, "b": 2, "t": 3}, True),
            ({"a": 0.1, "b": 0.2, "t": 0.3}, True),  # 0.30000000000000004, within 1e-9
            ({"a": 1, "b": 2, "t": 3.0000001}, False),
            ({"a": 1, "b": 2, "t": 4}, False),
            ({"a": 0, "b": -0.0, "t": 0}, True),
            ({"a": -5, "b": 5, "t": 0}, True),
            ({"a": 1e308, "b": 1e308, "t": 1e308}, False),  # the sum overflows to infinity
            ({"a": 2**53, "b": 1, "t": 2**53}, True),  # doubles: 2**53 + 1 == 2**53
            ({"a": 1, "b": None, "t": 5}, True),
            ({"a": 1, "t": 5}, True),
            ({"a": 1, "b": 2}, True),
            ({"a": None, "b": "x", "t": 3}, True),  # a null passes before kinds are looked at
            ({"a": 1, "b": "2", "t": 3}, False),
            ({"a": 1, "b": 2, "t": "3"}, False),
            ({"a": True, "b": 2, "t": 3}, False),
            ({"a": [1], "b": 2, "t": 3}, False),
            ({}, True),
        ],
    )


@integration
def test_sum_equals_tolerance_and_three_parts(spark):
    assert_verdicts(
        spark,
        sums("a", "b", "c", tolerance=0.01),
        [
            ({"a": 10, "b": 5.005, "c": 0, "t": 15.01}, True),
            ({"a": 1, "b": 1, "c": 1, "t": 3.01}, True),
            ({"a": 10, "b": 5, "c": 0, "t": 15.02}, False),
            ({"a": 10, "b": 5, "c": 0.011, "t": 15}, False),
            ({"a": 10, "b": 5, "t": 15}, True),
        ],
    )


@integration
def test_sum_equals_on_typed_doubles(spark):
    rows = [
        {"a": 1.0, "b": 2.0, "t": 3.0},
        {"a": NAN, "b": 2.0, "t": 3.0},
        {"a": INF, "b": 2.0, "t": INF},
        {"a": 1.0, "b": None, "t": NAN},
    ]
    entry = {"rule": "sum_equals", "params": {"fields": ["a", "b"], "total": "t"}}
    assert typed_verdicts(spark, entry, rows, "a double, b double, t double") == ([True, False, False, True],) * 2


@integration
def test_mutually_exclusive(spark):
    entry = {"rule": "mutually_exclusive", "params": {"fields": ["payload.a", "payload.b", "payload.c"]}}
    cases = [({}, True), ({"a": 1}, True), ({"a": 1, "b": None}, True), ({"a": None, "b": None, "c": None}, True)]
    cases += [({"c": False}, True), ({"a": 1, "b": 2}, False), ({"a": "", "b": 0}, False), ({"a": [], "c": {}}, False)]
    assert_verdicts(spark, entry, [*cases, ({"a": 1, "b": 2, "c": 3}, False)])


@integration
def test_at_least_one_of(spark):
    entry = {"rule": "at_least_one_of", "params": {"fields": ["payload.email", "payload.phone"]}}
    cases = [({}, False), ({"email": None}, False), ({"email": None, "phone": None}, False), ({"other": 1}, False)]
    cases += [({"email": ""}, True), ({"phone": 0}, True), ({"phone": False}, True), ({"email": []}, True)]
    assert_verdicts(spark, entry, [*cases, ({"email": "a@b.c", "phone": "+49"}, True)])


@integration
def test_sql_expression_runs_in_spark_only(spark):
    entry = {"rule": "sql_expression", "params": {"expr": "received_at >= occurred_at - INTERVAL 5 MINUTES"}}
    rules = one_rule(entry)
    assert not supports(rules[0].type)
    with pytest.raises(UnsupportedRuleError, match="sql_expression"):
        evaluate({}, rules)
    rows = [
        (0, datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)),
        (1, datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 23, 55, tzinfo=UTC)),
        (2, datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 23, 54, 59, tzinfo=UTC)),
        (3, datetime(2026, 1, 1, 0, 0, tzinfo=UTC), None),
    ]
    df = spark.createDataFrame(rows, "i int, occurred_at timestamp, received_at timestamp")
    out = with_dq_failures(df, rules, now=NOW).orderBy("i").collect()
    assert [not r.dq_failures for r in out] == [True, True, False, True]  # null: passes


@integration
def test_sql_expression_can_read_the_payload_json(spark):
    expr = "coalesce(try_variant_get(try_parse_json(payload), '$.amount', 'double'), 0) >= 0"
    rules = one_rule({"rule": "sql_expression", "params": {"expr": expr}})
    df = spark.createDataFrame([(0, '{"amount": 5}'), (1, '{"amount": -1}'), (2, "{}")], "i int, payload string")
    out = with_dq_failures(df, rules, now=NOW).orderBy("i").collect()
    assert [not r.dq_failures for r in out] == [True, False, True]


def arrays(name, **params):
    return {"rule": name, "field": "payload.xs", "params": params}


NOT_ARRAYS = [({"xs": "abc"}, False), ({"xs": {}}, False), ({"xs": {"a": [1]}}, False), ({"xs": 3}, False)]
NULLS = [({"xs": None}, True), ({}, True)]


@integration
def test_array_length_between(spark):
    cases = [({"xs": []}, False), ({"xs": [1]}, True), ({"xs": [1, "2", None]}, True), ({"xs": [[], []]}, True)]
    cases += [({"xs": [None]}, True), ({"xs": [1, 2, 3, 4]}, False), ({"xs": ["é"] * 3}, True)]
    assert_verdicts(spark, arrays("array_length_between", min=1, max=3), cases + NOT_ARRAYS + NULLS)


@integration
def test_array_length_between_open_and_empty_bounds(spark):
    unbounded = [({"xs": [1]}, False), ({"xs": list(range(1000))}, True), ({"xs": []}, False)]
    assert_verdicts(spark, arrays("array_length_between", min=2), unbounded + NOT_ARRAYS + NULLS)
    assert_verdicts(spark, arrays("array_length_between", max=0), [({"xs": []}, True), ({"xs": [None]}, False)])


@integration
def test_array_elements_not_null(spark):
    cases = [({"xs": []}, True), ({"xs": [1, 2]}, True), ({"xs": ["", 0, False, {}]}, True)]
    cases += [({"xs": [[None]]}, True), ({"xs": [{"a": None}]}, True)]  # only the elements themselves count
    cases += [({"xs": [None]}, False), ({"xs": [1, None]}, False), ({"xs": [None, None]}, False)]
    assert_verdicts(spark, arrays("array_elements_not_null"), cases + NOT_ARRAYS + NULLS)


@integration
def test_array_unique(spark):
    distinct = [[], [1], [1, 2], ["a", "A"], ["e\u0301", "é"], [True, 1], ["1", 1], [None, 1], [[1, 2], [2, 1]]]
    distinct += [[0.1, 0.10000000000000002], [{"a": 1}, {"a": 2}], [{"a": 1}, {"b": 1}], [True, False], ["", " "]]
    duplicates = [[1, 1], [1, 1.0], [0, -0.0], [0.1, 0.1], ["a", "a"], ["é", "é"], [None, None], [True, True]]
    duplicates += [[{"a": 1}, {"a": 1}], [{"a": 1, "b": 2}, {"b": 2, "a": 1}], [{"a": 1}, {"a": 1.0}], [[1, 2], [1, 2]]]
    duplicates += [[2**53, 2**53 + 1], [1, 2, 3, 1], [[], []], [{}, {}], ["日本", "x", "日本"]]
    cases = [({"xs": v}, True) for v in distinct] + [({"xs": v}, False) for v in duplicates]
    assert_verdicts(spark, arrays("array_unique"), cases + NOT_ARRAYS + NULLS)


@integration
def test_array_unique_on_json_spellings(spark):
    texts = ['{"xs": [1.5, 1.50]}', '{"xs": [1e2, 100]}', '{"xs": [{"a": 1.50}, {"a": 1.5}]}', '{"xs": [1, 1e0]}']
    texts += ['{"xs": [{"a": 1e0}, {"a": 1}]}']
    rules = one_rule(arrays("array_unique"))
    python = [not evaluate({"payload": orjson.loads(t)}, rules, now=NOW) for t in texts]
    df = spark.createDataFrame(list(enumerate(texts)), "i int, payload string")
    spark_ = [not r.dq_failures for r in with_dq_failures(df, rules, now=NOW).orderBy("i").collect()]
    assert python == [False, False, False, False, False]
    # Known difference: inside a container, Spark's VARIANT keeps an exponent-spelled 1e0 (a DOUBLE) apart
    # from the integer 1; the Python engine cannot see spellings.
    assert spark_ == [False, False, False, False, True]


@integration
def test_array_rules_on_typed_arrays(spark):
    rows = [
        {"d": [NAN, NAN], "s": ["a", None], "st": [{"x": 1}, {"x": 1}], "l": [None, None]},
        {"d": [-0.0, 0.0], "s": ["a", "b"], "st": [{"x": 1}, None], "l": [1, 2]},
        {"d": [1.0, 2.0, INF], "s": [], "st": [], "l": None},
        {"d": [INF, INF], "s": None, "st": None, "l": [5]},
    ]
    schema = "d array<double>, s array<string>, st array<struct<x:int>>, l array<bigint>"

    def check(name, field, expected, **params):
        entry = {"rule": name, "field": field, "params": params}
        assert typed_verdicts(spark, entry, rows, schema) == (expected, expected), (name, field)

    check("array_unique", "d", [False, False, True, False])
    check("array_unique", "st", [False, True, True, True])
    check("array_unique", "l", [False, True, True, True])
    check("array_elements_not_null", "s", [False, True, True, True])
    check("array_elements_not_null", "st", [True, False, True, True])
    check("array_elements_not_null", "d", [True, True, True, True])
    check("array_length_between", "d", [True, True, False, True], min=2, max=2)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"rule": "required_if", "params": {"when": "payload.s"}}, "needs a `field`"),
        ({"rule": "required_if", "field": "payload.t", "params": {}}, "params.when: Field required"),
        ({"rule": "required_if", "field": "payload.t", "params": {"when": "payload..s"}}, "not a field path"),
        ({"rule": "required_if", "field": "payload.t", "params": {"when": "payload.s", "equals": [1]}}, "equals"),
        (compare("lte"), "params.op: Input should be 'lt', 'le', 'gt', 'ge', 'eq' or 'ne'"),
        ({"rule": "field_compare", "field": "payload.a", "params": {"op": "lt"}}, "params.other: Field required"),
        (sums("a"), "at least 2 items"),
        (sums("a", "b", tolerance=-1), "greater than or equal to 0"),
        (sums("a", "b", tolerance="0.1"), "must be a number"),
        (sums("a", "b", total="payload.t!"), "not a field path"),
        ({"rule": "sum_equals", "params": {"fields": ["payload.a", 3], "total": "payload.t"}}, "valid string"),
        ({"rule": "mutually_exclusive", "params": {"fields": ["payload.a", "payload.a"]}}, "must be distinct"),
        ({"rule": "mutually_exclusive", "params": {"fields": ["payload.a"]}}, "at least 2 items"),
        ({"rule": "at_least_one_of", "params": {"fields": []}}, "at least 1 item"),
        (arrays("array_length_between", min=3, max=2), r"min \(3\) must not be greater than max \(2\)"),
        (arrays("array_length_between", min=-1), "greater than or equal to 0"),
        (arrays("array_length_between", max=1.5), "valid integer"),
        (arrays("array_unique", strict=True), "Extra inputs"),
        ({"rule": "sql_expression", "params": {"expr": "   "}}, "not empty"),
        ({"rule": "sql_expression", "params": {}}, "params.expr: Field required"),
        ({"rule": "sql_expression", "params": {"expr": 1}}, "valid string"),
    ],
)
def test_params_are_validated(entry, error):
    with pytest.raises(ContractError, match=error):
        one_rule(entry)


def test_required_if_refuses_nan_and_messages_read_well():
    params = "{when: payload.s, equals: .nan}"
    text = f"event_type: t\nrules:\n  - {{id: r, rule: required_if, field: payload.t, params: {params}}}"
    with pytest.raises(ContractError, match="equals must not be NaN"):
        parse_contract(text)
    rule = one_rule({"rule": "required_if", "field": "payload.t", "params": {"when": "payload.s", "equals": "x"}})[0]
    assert rule.message == "payload.t is required when payload.s = x (None: whenever payload.s is set)"
    rule = one_rule({"rule": "mutually_exclusive", "params": {"fields": ["payload.a", "payload.b"]}})[0]
    assert rule.message == "at most one of [payload.a, payload.b] may be set"
    assert one_rule(sums("a", "b"))[0].params.tolerance == 1e-9
