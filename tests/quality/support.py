"""Check one rule in both engines against expected verdicts.

`verdicts(spark, entry, payloads)` builds a one-rule contract from `entry` (a rule entry as in a contract,
without `id`), evaluates every payload with the pure-Python engine and, in one Spark job, with the Spark engine
(payloads as JSON text in a `payload` column, the way the stream sees them), and returns the two lists of
pass/fail booleans. `assert_verdicts` asserts both equal the expected list.

`typed_verdicts(spark, entry, rows, schema)` does the same for flat typed rows (a table): the Python engine
sees the row dicts, the Spark engine a DataFrame with `schema`.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from quality.engines.python import evaluate
from quality.engines.spark import with_dq_failures
from quality.loader import parse_contract

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def one_rule(entry: Mapping[str, Any], event_type: str = "test.event") -> Any:
    text = orjson.dumps({"event_type": event_type, "rules": [{"id": "r", **entry}]}).decode()
    return parse_contract(text).row_rules


def verdicts(spark: Any, entry: Mapping[str, Any], payloads: Sequence[Any]) -> tuple[list[bool], list[bool]]:
    rules = one_rule(entry)
    python = [not evaluate({"payload": p}, rules, now=NOW) for p in payloads]
    rows = [(i, orjson.dumps(p).decode()) for i, p in enumerate(payloads)]
    df = spark.createDataFrame(rows, "i int, payload string")
    out = with_dq_failures(df, rules, now=NOW).orderBy("i").collect()
    return python, [len(r.dq_failures) == 0 for r in out]


def assert_verdicts(spark: Any, entry: Mapping[str, Any], cases: Sequence[tuple[Any, bool]]) -> None:
    """`cases`: (payload, expected to pass)."""
    payloads = [c[0] for c in cases]
    expected = [c[1] for c in cases]
    python, spark_ = verdicts(spark, entry, payloads)
    wrong = [
        (payloads[i], expected[i], python[i], spark_[i])
        for i in range(len(cases))
        if not (python[i] == spark_[i] == expected[i])
    ]
    assert not wrong, "(payload, expected, python, spark): " + repr(wrong)


def typed_verdicts(
    spark: Any, entry: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], schema: str
) -> tuple[list[bool], list[bool]]:
    rules = one_rule(entry)
    python = [not evaluate(r, rules, now=NOW) for r in rows]
    df = spark.createDataFrame([{"__i": i, **r} for i, r in enumerate(rows)], "__i int, " + schema)
    out = with_dq_failures(df, rules, now=NOW).orderBy("__i").collect()
    return python, [len(r.dq_failures) == 0 for r in out]
