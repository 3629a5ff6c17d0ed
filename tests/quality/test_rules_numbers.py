"""Number rules, in both engines: payloads as JSON, typed double/long/decimal columns, raw JSON spellings."""

from decimal import Decimal

import orjson
import pytest

from quality.engines.python import evaluate
from quality.engines.python.numbers import round_half_up
from quality.engines.spark import with_dq_failures
from quality.exceptions import ContractError
from quality.loader import parse_contract
from tests.quality.support import NOW, assert_verdicts, one_rule, typed_verdicts

F = "payload.x"
NAN, INF = float("nan"), float("inf")
integration = pytest.mark.integration

# Wrong kinds fail every number rule; null and absent pass.
WRONG_KINDS = [({"x": "5"}, False), ({"x": "NaN"}, False), ({"x": True}, False), ({"x": [1]}, False)]
WRONG_KINDS += [({"x": {"a": 1}}, False), ({"x": "\uff15"}, False), ({"x": ""}, False)]
NULLS = [({"x": None}, True), ({}, True), ({"y": -1}, True)]


def rule(name, **params):
    return {"rule": name, "field": F, "params": params}


def cases(passing, failing):
    return [({"x": v}, True) for v in passing] + [({"x": v}, False) for v in failing] + WRONG_KINDS + NULLS


def typed(spark, entry, values, dtype):
    """Verdicts for one typed column `x` holding `values`, from both engines."""
    entry = {**entry, "field": "x"}
    return typed_verdicts(spark, entry, [{"x": v} for v in values], f"x {dtype}")


def raw_verdicts(spark, entry, texts):
    """Verdicts for payloads given as JSON text, so the spelling (1.50, 1e2) reaches Spark's VARIANT."""
    rules = one_rule(entry)
    python = [not evaluate({"payload": orjson.loads(t)}, rules, now=NOW) for t in texts]
    df = spark.createDataFrame(list(enumerate(texts)), "i int, payload string")
    out = with_dq_failures(df, rules, now=NOW).orderBy("i").collect()
    return python, [not r.dq_failures for r in out]


@integration
def test_between_is_inclusive(spark):
    assert_verdicts(
        spark,
        rule("between", min=0, max=10000),
        cases([0, 10000, 10000.0, 5000.5, -0.0, 0.0, 1e-300], [-0.001, 10000.0001, -1, 1e20, 10**16, -(2**53)]),
    )


@integration
def test_between_on_typed_doubles_fails_nan_and_infinities(spark):
    values = [0.0, -0.0, 10.0, NAN, INF, -INF, None, 10.5]
    expected = [True, True, True, False, False, False, True, False]
    assert typed(spark, rule("between", min=0, max=10), values, "double") == (expected, expected)


@integration
def test_between_exclusive(spark):
    assert_verdicts(
        spark,
        rule("between_exclusive", min=0, max=1),
        cases([0.5, 1e-300, 0.9999999999999999], [0, 0.0, -0.0, 1, 1.0, 1.0000000000000002, -0.5]),
    )


@integration
@pytest.mark.parametrize(
    ("name", "value", "passing", "failing"),
    [
        ("greater_than", 0, [1, 5e-324, 0.1, 2**53], [0, -0.0, 0.0, -1, -1e-300]),
        ("greater_or_equal", 1, [1, 1.0, 1.0000000000000002, 99], [0.9999999999999999, 0, -1]),
        ("less_than", 150, [149, 149.99, -(2**53), -1e308], [150, 150.0, 150.00000000000003, 1e308]),
        ("less_or_equal", 100, [100, 100.0, 0, -5], [100.00000000000001, 101]),
        ("equal_to", 2, [2, 2.0], [2.0000000000000004, 1.9999999999999998, 3, -2]),
        ("not_equal_to", 0, [1, -1, 5e-324, 0.5], [0, 0.0, -0.0]),
        ("less_than", 0.1, [0.09999999999999999, 0], [0.1, 0.10000000000000002]),
        ("equal_to", -2.5, [-2.5], [2.5, -2.4999999999999996]),
    ],
)
def test_comparisons(spark, name, value, passing, failing):
    assert_verdicts(spark, rule(name, value=value), cases(passing, failing))


@integration
def test_comparisons_on_typed_columns(spark):
    values = [0.0, -0.0, 1.5, NAN, INF, -INF, None]
    assert (
        typed(spark, rule("greater_than", value=0), values, "double")
        == ([False, False, True, False, True, False, True],) * 2
    )
    assert (
        typed(spark, rule("not_equal_to", value=0), values, "double")
        == ([False, False, True, False, True, True, True],) * 2
    )
    longs = [2**53, 2**53 + 1, 2**62, -1, None]
    # Integers are compared as doubles in both engines: 2**53 + 1 rounds to 2**53.
    assert typed(spark, rule("equal_to", value=2**53), longs, "long") == ([True, True, False, False, True],) * 2


@integration
@pytest.mark.parametrize(
    ("name", "passing", "failing"),
    [
        ("positive", [1, 0.5, 5e-324, 2**53], [0, 0.0, -0.0, -1, -5e-324]),
        ("non_negative", [0, 0.0, -0.0, 1, 1e308], [-1, -5e-324, -0.5]),
        ("finite", [0, -0.0, 1.7976931348623157e308, -1e-300, 2**53], []),
    ],
)
def test_signs_and_finite(spark, name, passing, failing):
    assert_verdicts(spark, {"rule": name, "field": F}, cases(passing, failing))


@integration
def test_signs_and_finite_on_typed_doubles(spark):
    values = [0.0, -0.0, 2.5, NAN, INF, -INF, None]
    assert typed(spark, {"rule": "finite"}, values, "double") == ([True, True, True, False, False, False, True],) * 2
    assert typed(spark, {"rule": "positive"}, values, "double") == ([False, False, True, False, True, False, True],) * 2
    assert (
        typed(spark, {"rule": "non_negative"}, values, "double") == ([True, True, True, False, True, False, True],) * 2
    )


MAX_DECIMALS_2 = (
    [0.1, -2.5, 1e20, 2, 0, -0.0, 0.01, 99.99, 123456.78, 1.7976931348623157e308, -(2**53), 0.29999999999999999],
    [0.125, 1e-7, 123456.789, 0.005, 1.005, 0.001, 5e-324, 99.999, 0.30000000000000004, 1 / 3],
)


def test_round_half_up_is_sparks_round_on_doubles():
    assert round_half_up(0.125, 2) == 0.13
    assert round_half_up(-2.5, 0) == -3.0
    assert round_half_up(1.005, 2) == 1.01  # on the decimal 1.005, not the binary 1.00499999...
    assert round_half_up(1e20, 2) == 1e20
    assert round_half_up(1.7976931348623157e308, 5) == 1.7976931348623157e308
    assert round_half_up(5e-324, 2) == 0.0


@integration
def test_max_decimals(spark):
    passing, failing = MAX_DECIMALS_2
    assert_verdicts(spark, rule("max_decimals", max=2), cases(passing, failing))


@integration
def test_max_decimals_zero_and_three(spark):
    assert_verdicts(spark, rule("max_decimals", max=0), cases([2, 2.0, -0.0, 1e20, 2**53], [2.5, 0.1, -0.5]))
    assert_verdicts(spark, rule("max_decimals", max=3), cases([0.125, 123456.789, 0.001], [1e-7, 0.0001, 1.0005]))


@integration
def test_max_decimals_judges_the_value_not_its_json_spelling(spark):
    texts = ['{"x": 1.50}', '{"x": 2.000}', '{"x": 1e2}', '{"x": 1.5e-1}', '{"x": 100.10}', '{"x": 1.2345e1}']
    texts += ['{"x": 0.1250}', '{"x": -0.0}', '{"x": 1E-2}', '{"x": 12345678901234567890}']
    expected = [True, True, True, True, True, False, False, True, True, True]
    assert raw_verdicts(spark, rule("max_decimals", max=2), texts) == (expected, expected)


@integration
def test_max_decimals_on_typed_columns(spark):
    doubles = [0.1, 0.125, NAN, INF, -INF, None, 2.0]
    assert (
        typed(spark, rule("max_decimals", max=2), doubles, "double")
        == ([True, False, False, False, False, True, True],) * 2
    )
    decimals = [Decimal("1.50"), Decimal("1.25"), Decimal("7.00"), None]
    assert typed(spark, rule("max_decimals", max=1), decimals, "decimal(10,2)") == ([True, False, True, True],) * 2


@integration
def test_multiple_of(spark):
    assert_verdicts(
        spark,
        rule("multiple_of", value=6),
        cases(
            [12, 0, -18, 6, 2**53 - 2, -(2**53) + 2],
            [13, -1, 12.0, 6.0, 0.0, 12.5, 2**53, 3],
        ),
    )


@integration
def test_multiple_of_float_value_and_typed_columns(spark):
    assert_verdicts(spark, rule("multiple_of", value=0.5), cases([3, 0, -7], [1.5, 2.0]))
    longs = [12, 13, -6, None]
    assert typed(spark, rule("multiple_of", value=6), longs, "long") == ([True, False, True, True],) * 2
    doubles = [12.0, NAN, INF, None]
    assert typed(spark, rule("multiple_of", value=6), doubles, "double") == ([False, False, False, True],) * 2


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (rule("between", min=10, max=1), r"min \(10\) must not be greater than max \(1\)"),
        (rule("between", min=0), "params.max: Field required"),
        (rule("between", min="0", max=1), "must be a number .*not str"),
        (rule("between", min=True, max=1), "must be a number .*not bool"),
        (rule("between", min=0, max=1, step=1), "params.step: Extra inputs are not permitted"),
        (rule("between_exclusive", min=1, max=1), "must be less than max"),
        (rule("equal_to"), "params.value: Field required"),
        (rule("max_decimals", max=-1), "greater than or equal to 0"),
        (rule("max_decimals", max=1.5), "valid integer"),
        (rule("max_decimals", max=101), "less than or equal to 100"),
        (rule("multiple_of", value=0), "greater than 0"),
        (rule("multiple_of", value=-3), "greater than 0"),
        ({"rule": "positive", "field": F, "params": {"value": 1}}, "Extra inputs"),
    ],
)
def test_params_are_validated(entry, error):
    with pytest.raises(ContractError, match=error):
        one_rule(entry)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+400", "1" + "0" * 400])
def test_params_must_be_finite(value):
    text = f"event_type: t\nrules:\n  - {{id: r, rule: greater_than, field: {F}, params: {{value: {value}}}}}\n"
    with pytest.raises(ContractError, match=r":3: rules.0 \(greater_than\): params.value: .*must be a finite number"):
        parse_contract(text)


def test_params_accept_ints_and_floats_and_messages_name_them():
    assert one_rule(rule("between", min=0, max=0))[0].message == "payload.x must be between 0 and 0"
    assert one_rule(rule("between", min=-1.5, max=2))[0].message == "payload.x must be between -1.5 and 2"
    assert one_rule(rule("multiple_of", value=6))[0].message == "payload.x must be an integer multiple of 6"
    assert one_rule(rule("max_decimals", max=2))[0].message == "payload.x must have at most 2 decimal places"
