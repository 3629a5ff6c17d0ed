"""Dataset rules: declarations (params validation) and the one-pass Spark engine on small DataFrames."""

import math
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from pyspark.sql import functions as F

from quality.engines.spark.dataset import SPARK_DATASET_CHECKS, DatasetContext, DatasetResult, evaluate_dataset
from quality.engines.spark.dataset import ks_distance as _ks_distance
from quality.exceptions import ContractError, UnsupportedRuleError
from quality.loader import parse_contract
from quality.rules import CATALOG
from quality.rules.base import RuleKind

integration = pytest.mark.integration

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
BASE = datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def compiled(*entries: dict[str, Any]) -> Any:
    text = orjson.dumps({"event_type": "test.event", "dataset_rules": list(entries)}).decode()
    return parse_contract(text).dataset_rules


def run(df: Any, *entries: dict[str, Any], **context: Any) -> dict[str, DatasetResult]:
    results = evaluate_dataset(df, compiled(*entries), context=DatasetContext(now=NOW, **context))
    assert [r.rule for r in results] == [e["id"] for e in entries]
    return {r.rule: r for r in results}


def payload_df(spark: Any, payloads: list[Any]) -> Any:
    rows = [(i, orjson.dumps(p).decode()) for i, p in enumerate(payloads)]
    return spark.createDataFrame(rows, "i int, payload string")


def rule(rid: str, name: str, field: str | None = None, **params: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": rid, "rule": name, "params": params}
    if field is not None:
        entry["field"] = field
    return entry


def assert_outcomes(results: dict[str, DatasetResult]) -> None:
    """Ids ending in `-ok` pass, ids ending in `-ko` fail."""
    wrong = {
        rid: (r.observed, r.threshold)
        for rid, r in results.items()
        if r.passed != rid.endswith("-ok") or not rid.endswith(("-ok", "-ko"))
    }
    assert not wrong, wrong


# --- declarations -------------------------------------------------------------------------------------


def test_every_dataset_rule_has_a_spark_check_and_nothing_else_does():
    declared = {name for name, r in CATALOG.items() if r.kind is RuleKind.DATASET}
    assert declared == set(SPARK_DATASET_CHECKS)
    assert len(declared) == 21
    assert all(not CATALOG.get(name).python for name in declared)


@pytest.mark.parametrize(
    ("name", "params", "problem"),
    [
        ("mean_between", {}, "give `min`, `max` or both"),
        ("mean_between", {"min": 5, "max": 1}, "greater than max"),
        ("mean_between", {"min": "5"}, "valid number"),
        ("mean_between", {"min": True}, "valid number"),
        ("mean_between", {"min": 1, "minimum": 2}, "Extra inputs"),
        ("row_count_between", {"min": -1}, "greater than or equal to 0"),
        ("row_count_between", {"min": 10, "max": 5}, "greater than max"),
        ("row_count_between", {"min": 1.5}, "valid integer"),
        ("distinct_count_between", {"min": 2.5}, "valid integer"),
        ("distinct_ratio_between", {"max": 1.5}, "less than or equal to 1"),
        ("completeness", {}, "Field required"),
        ("completeness", {"threshold": 1.01}, "less than or equal to 1"),
        ("quantile_between", {"quantile": 1.5, "max": 1}, "less than or equal to 1"),
        ("quantile_between", {"quantile": 0.5}, "give `min`, `max` or both"),
        ("freshness", {"max_age_seconds": 0}, "greater than 0"),
        ("no_empty_hours", {"start": "2026-11-25T00:00:00", "end": "2026-11-26T00:00:00Z"}, "timezone"),
        ("no_empty_hours", {"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T00:00:00Z"}, "before `end`"),
        ("no_empty_hours", {"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "at most 8784"),
        ("monotonic", {"order_by": "bad path"}, "not a field path"),
        ("monotonic", {"order_by": "seq", "direction": "up"}, "'increasing' or 'decreasing'"),
        ("drift_psi", {"bins": [1, 1], "expected": [0.2, 0.3, 0.5]}, "strictly increasing"),
        ("drift_psi", {"bins": [1, 2], "expected": [0.5, 0.5]}, "needs 3 proportions"),
        ("drift_psi", {"bins": [1, 2], "expected": [0.5, 0.5, 0.5]}, "sum to 1"),
        ("drift_ks", {"reference": [1, 2, 3]}, "at least 10 items"),
        ("anomaly", {"metric": "median"}, "'row_count', 'mean', 'null_ratio' or 'distinct_count'"),
        ("anomaly", {"metric": "mean", "min_history": 1}, "greater than or equal to 2"),
        ("unique", {"fields": []}, "at least 1 item"),
        ("unique", {"fields": ["a", "a"]}, "each field once"),
        ("unique", {"fields": ["payload.x-y"]}, "not a field path"),
        ("reconcile_counts", {"other_table": ""}, "at least 1 character"),
        ("sql_aggregate", {"expr": "count(*)"}, "give `min`, `max` or both"),
    ],
)
def test_params_are_validated_strictly(name, params, problem):
    with pytest.raises(ValidationError, match=problem):
        CATALOG.get(name).params.model_validate(params)


def test_a_broken_dataset_rule_is_a_contract_error_with_its_line():
    with pytest.raises(
        ContractError, match=r"dataset_rules\.0 \(mean_between\): params.*min \(3\) is greater than max \(1\)"
    ):
        compiled(rule("r", "mean_between", "payload.amount", min=3, max=1))
    with pytest.raises(ContractError, match="needs a `field`"):
        compiled(rule("r", "mean_between", max=1))


def test_the_ks_distance_is_close_to_the_exact_two_sample_statistic():
    current = [i * 1.7 % 50 for i in range(400)]
    reference = [i * 0.9 + 5 for i in range(40)]
    s = sorted(current)
    quantiles = [s[min(len(s) - 1, math.ceil(j / 100 * len(s)) - 1 if j else 0)] for j in range(101)]

    def cdf(xs: list[float], t: float) -> float:
        return sum(x <= t for x in xs) / len(xs)

    exact = max(abs(cdf(current, t) - cdf(reference, t)) for t in current + reference)
    assert abs(_ks_distance(quantiles, reference) - exact) <= 0.02
    assert _ks_distance(quantiles, current) <= 0.02


# --- metrics on payload fields -----------------------------------------------------------------------


def _orders() -> list[Any]:
    """20 orders: amounts 1..18, then a null and a string; customer_id absent twice; 3 currencies."""
    rows: list[Any] = []
    for i in range(20):
        row: dict[str, Any] = {"amount": i + 1, "currency": ["EUR", "USD", "GBP"][i % 3], "seq": i}
        if i not in (3, 7):
            row["customer_id"] = f"c{i}"
        rows.append(row)
    rows[18]["amount"] = None
    rows[19]["amount"] = "12"
    return rows


@integration
def test_metric_rules_on_payload_fields(spark):
    a, c = "payload.amount", "payload.customer_id"
    results = run(
        payload_df(spark, _orders()),
        rule("rows-ok", "row_count_between", min=20, max=20),
        rule("rows-ko", "row_count_between", min=21),
        rule("complete-ok", "completeness", c, threshold=0.9),
        rule("complete-ko", "completeness", c, threshold=0.95),
        rule("nulls-ok", "null_ratio_at_most", c, threshold=0.1),
        rule("nulls-ko", "null_ratio_at_most", c, threshold=0.05),
        rule("distinct-ok", "distinct_count_between", "payload.currency", min=3, max=3),
        rule("distinct-ko", "distinct_count_between", "payload.currency", min=4),
        rule("dratio-ok", "distinct_ratio_between", c, min=0.9),
        rule("dratio-ko", "distinct_ratio_between", "payload.currency", min=0.5),
        rule("min-ok", "min_between", a, min=1, max=1),
        rule("min-ko", "min_between", a, min=1.5),
        rule("max-ok", "max_between", a, max=18),
        rule("max-ko", "max_between", a, max=17.99),
        rule("mean-ok", "mean_between", a, min=9.5, max=9.5),
        rule("mean-ko", "mean_between", a, max=9),
        rule("median-ok", "median_between", a, min=9, max=10),
        rule("median-ko", "median_between", a, min=11),
        rule("stddev-ok", "stddev_between", a, min=5.18, max=5.19),
        rule("stddev-ko", "stddev_between", a, max=5),
        rule("sum-ok", "sum_between", a, min=171, max=171),
        rule("sum-ko", "sum_between", a, min=172),
        rule("q90-ok", "quantile_between", a, quantile=0.9, min=16, max=17),
        rule("q90-ko", "quantile_between", a, quantile=0.9, max=15),
        rule("sql-ok", "sql_aggregate", expr="count_if(payload like '%EUR%') / count(*)", min=0.35, max=0.35),
        rule("sql-ko", "sql_aggregate", expr="max(i)", max=18),
    )
    assert_outcomes(results)
    observed = {rid: r.observed for rid, r in results.items()}
    assert observed["rows-ok"] == 20
    assert observed["complete-ok"] == pytest.approx(0.9)
    assert observed["nulls-ok"] == pytest.approx(0.1)
    assert observed["distinct-ok"] == 3
    assert observed["dratio-ok"] == pytest.approx(1.0, abs=0.06)
    assert observed["dratio-ko"] == pytest.approx(3 / 20)
    # the null and the string "12" are not numbers: 1..18 only
    assert observed["mean-ok"] == 9.5
    assert observed["sum-ok"] == 171
    assert observed["stddev-ok"] == pytest.approx(math.sqrt((18**2 - 1) / 12))
    assert observed["sql-ko"] == 19


@integration
def test_a_result_names_its_rule_severity_observed_value_and_threshold(spark):
    entry = {**rule("complete", "completeness", "payload.customer_id", threshold=0.95), "severity": "warn"}
    (result,) = run(payload_df(spark, _orders()), entry).values()
    assert result == DatasetResult(
        rule="complete",
        severity="warn",
        passed=False,
        observed=pytest.approx(0.9),
        threshold=">= 0.95",
        message="payload.customer_id is present in too few rows (at least 0.95 required) "
        "(observed 0.9; expected >= 0.95)",
    )


@integration
def test_unique_keys_compare_json_values_and_skip_null_parts(spark):
    df = payload_df(
        spark,
        [
            {"id": 1, "shop": "a"},
            {"id": 1.0, "shop": "b"},  # the same JSON number as 1
            {"id": "1", "shop": "a"},  # a string: another key
            {"id": None, "shop": "a"},
            {"shop": "a"},  # null and absent keys are never duplicates
            {"id": {"x": 1, "y": [2]}, "shop": "a"},
            {"id": {"y": [2], "x": 1}, "shop": "a"},  # the same object
        ],
    )
    results = run(
        df,
        rule("id-ko", "unique", fields=["payload.id"]),
        rule("compound-ok", "unique", fields=["payload.id", "payload.shop", "i"]),
        rule("shop-ko", "unique", fields=["payload.shop"]),
        rule("index-ok", "unique", fields=["i"]),
    )
    assert_outcomes(results)
    assert results["id-ko"].observed == 2
    assert results["shop-ko"].observed == 5


# --- typed columns: time, order, NaN -------------------------------------------------------------------


def _events(spark: Any) -> Any:
    """10 hourly events from 00:30Z; event `e3` twice; `ts` the same time as RFC 3339 text at +02:00."""
    times = [BASE + timedelta(hours=i, minutes=30) for i in range(10)]
    columns = {
        "event_id string": [f"e{i}" for i in range(9)] + ["e3"],
        "occurred_at timestamp": times,
        "seq long": list(range(10)),
        "batch int": [i // 3 for i in range(10)],
        "level int": [5, 5, 4, 4, 3, 3, 2, 2, 1, 1],
        "score int": [1, 2, 3, 2, 5, 6, 7, 8, 9, 10],
        "amount double": [1.0, 2.0, float("nan"), None, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "ts string": [t.astimezone(PLUS_TWO).isoformat() for t in times],
    }
    return spark.createDataFrame(list(zip(*columns.values(), strict=True)), ", ".join(columns))


@integration
def test_time_order_and_nan_rules_on_typed_columns(spark):
    hours = {"start": "2026-11-25T00:00:00Z"}
    results = run(
        _events(spark),
        rule("unique-ko", "unique", fields=["event_id"]),
        rule("unique-ok", "unique", fields=["event_id", "seq"]),
        rule("fresh-ok", "freshness", "occurred_at", max_age_seconds=9000),
        rule("fresh-ko", "freshness", "occurred_at", max_age_seconds=8999),
        rule("fresh-text-ok", "freshness", "ts", max_age_seconds=9000),
        rule("hours-ok", "no_empty_hours", "occurred_at", **hours, end="2026-11-25T10:00:00Z"),
        rule("hours-ko", "no_empty_hours", "occurred_at", **hours, end="2026-11-25T12:00:00+00:00"),
        rule("hours-text-ko", "no_empty_hours", "ts", start="2026-11-24T23:00:00Z", end="2026-11-25T05:00:00Z"),
        rule("seq-ok", "monotonic", "seq", order_by="occurred_at", strict=True),
        rule("seq-desc-ko", "monotonic", "seq", order_by="occurred_at", direction="decreasing"),
        rule("score-ko", "monotonic", "score", order_by="occurred_at"),
        rule("level-ok", "monotonic", "level", order_by="seq", direction="decreasing"),
        rule("level-strict-ko", "monotonic", "level", order_by="seq", direction="decreasing", strict=True),
        rule("ties-ok", "monotonic", "seq", order_by="batch", strict=True),
        rule("time-ok", "monotonic", "occurred_at", order_by="seq"),
        rule("mean-ok", "mean_between", "amount", min=5.25, max=5.25),
        rule("max-ok", "max_between", "amount", max=9),
        rule("distinct-nan-ok", "distinct_count_between", "amount", min=9, max=9),  # NaN is a value
    )
    assert_outcomes(results)
    assert results["unique-ko"].observed == 1
    assert results["fresh-ok"].observed == 9000
    assert results["hours-ko"].observed == 2
    assert results["hours-ko"].threshold == "0 empty hours of 12 from 2026-11-25T00:00:00+00:00"
    assert results["hours-text-ko"].observed == 1
    assert results["score-ko"].observed == 1
    assert results["level-strict-ko"].observed == 5
    assert results["seq-desc-ko"].observed == 9


@integration
def test_monotonic_on_payload_fields_skips_rows_without_a_value(spark):
    payloads = [{"n": 1, "at": "2026-11-25T01:00:00+01:00"}, {"n": 3, "at": "2026-11-25T00:30:00Z"}, {"n": None}]
    payloads += [{"n": "x", "at": "2026-11-25T00:40:00Z"}, {"n": 2, "at": "2026-11-25T00:45:00Z"}]
    results = run(
        payload_df(spark, payloads),
        rule("by-time-ko", "monotonic", "payload.n", order_by="payload.at"),
        rule("by-index-ko", "monotonic", "payload.n", order_by="i"),
        rule("index-by-n-ko", "monotonic", "i", order_by="payload.n"),  # n: 1, 2, 3 -> i: 0, 4, 1
        rule("complete-ok", "completeness", "payload.at", threshold=0.8),
    )
    assert_outcomes(results)
    # by time: 1 (00:00Z), 3, 2 -> one violation; by index: 1, 3, 2 -> one
    assert results["by-time-ko"].observed == 1
    assert results["by-index-ko"].observed == 1


# --- drift ---------------------------------------------------------------------------------------------


@integration
def test_drift_rules(spark):
    df = payload_df(spark, [{"x": float(v)} for v in range(100)] + [{"x": "n/a"}, {}])
    bins = [25, 50, 75]
    results = run(
        df,
        rule("psi-ok", "drift_psi", "payload.x", bins=bins, expected=[0.25, 0.25, 0.25, 0.25]),
        rule("psi-ko", "drift_psi", "payload.x", bins=bins, expected=[0.7, 0.1, 0.1, 0.1]),
        rule("psi-empty-bucket-ko", "drift_psi", "payload.x", bins=[200], expected=[0.5, 0.5]),
        rule("ks-ok", "drift_ks", "payload.x", reference=[float(v) for v in range(0, 100, 2)]),
        rule("ks-ko", "drift_ks", "payload.x", reference=[v + 50.0 for v in range(0, 100, 5)], threshold=0.2),
    )
    assert_outcomes(results)
    assert results["psi-ok"].observed == pytest.approx(0.0, abs=1e-9)
    expected_psi = 3 * (0.25 - 0.1) * math.log(0.25 / 0.1) + (0.25 - 0.7) * math.log(0.25 / 0.7)
    assert results["psi-ko"].observed == pytest.approx(expected_psi)
    assert results["ks-ok"].observed is not None
    assert results["ks-ok"].observed <= 0.04
    assert results["ks-ko"].observed == pytest.approx(0.5, abs=0.02)
    assert results["ks-ko"].threshold == "KS <= 0.2"


# --- anomaly ----------------------------------------------------------------------------------------------


@integration
def test_anomaly_compares_today_with_the_history_the_caller_gives(spark):
    a = "payload.amount"
    history = {
        "count-ok": [19, 21, 20, 19, 21],
        "count-ko": [100, 101, 99, 100, 100, 101],
        "mean-ok": [9.0, 10.0, 9.5, 9.2, 9.8],
        "mean-ko": [20.0, 20.5, 19.5, 20.0, 20.1],
        "nulls-ok": [0.1, 0.11, 0.09, 0.1, 0.1],
        "distinct-ko": [30, 31, 29, 30, 30],
        "short-ok": [1000, 1000, 1000, 1000],
        "nan-history-ok": [20, float("nan"), 21, 19, 20, 20],
    }
    results = run(
        payload_df(spark, _orders()),
        rule("count-ok", "anomaly", metric="row_count"),
        rule("count-ko", "anomaly", metric="row_count", k=2.5),
        rule("mean-ok", "anomaly", a, metric="mean"),
        rule("mean-ko", "anomaly", a, metric="mean"),
        rule("nulls-ok", "anomaly", "payload.customer_id", metric="null_ratio"),
        rule("distinct-ko", "anomaly", "payload.currency", metric="distinct_count"),
        rule("short-ok", "anomaly", metric="row_count"),
        rule("nan-history-ok", "anomaly", metric="row_count"),
        rule("none-ok", "anomaly", metric="row_count"),
        history=history,
    )
    assert_outcomes(results)
    assert results["short-ok"].threshold == "insufficient history (4 of 5 values)"
    assert results["none-ok"].threshold == "insufficient history (0 of 5 values)"
    assert results["count-ko"].observed == 20
    assert results["mean-ok"].threshold.startswith("between ")
    with pytest.raises(ValueError, match="anomaly on 'mean' needs a `field`"):
        run(payload_df(spark, _orders()), rule("x", "anomaly", metric="mean"))


# --- empty DataFrames ---------------------------------------------------------------------------------------


@integration
def test_on_no_rows_counts_and_shares_pass_and_undefined_metrics_fail(spark):
    a = "payload.amount"
    results = run(
        payload_df(spark, []),
        rule("rows-ok", "row_count_between"),
        rule("rows-ko", "row_count_between", min=1),
        rule("complete-ok", "completeness", a, threshold=1.0),
        rule("nulls-ok", "null_ratio_at_most", a, threshold=0.0),
        rule("unique-ok", "unique", fields=[a]),
        rule("distinct-ok", "distinct_count_between", a, max=0),
        rule("dratio-ko", "distinct_ratio_between", a, min=0),
        rule("mean-ko", "mean_between", a, min=0),
        rule("median-ko", "median_between", a, min=0),
        rule("stddev-ko", "stddev_between", a, min=0),
        rule("sum-ok", "sum_between", a, min=0, max=0),
        rule("fresh-ko", "freshness", "payload.at", max_age_seconds=60),
        rule("hours-ko", "no_empty_hours", "payload.at", start="2026-11-25T00:00:00Z", end="2026-11-25T03:00:00Z"),
        rule("monotonic-ok", "monotonic", a, order_by="i"),
        rule("psi-ko", "drift_psi", a, bins=[1], expected=[0.5, 0.5]),
        rule("ks-ko", "drift_ks", a, reference=list(range(10))),
        rule("anomaly-ko", "anomaly", a, metric="mean"),
        rule("sql-ko", "sql_aggregate", expr="avg(i)", min=0),
        history={"anomaly-ko": [1.0, 2.0, 1.0, 2.0, 1.0]},
    )
    assert_outcomes(results)
    assert results["rows-ok"].observed == 0
    assert results["complete-ok"].observed is None
    assert results["complete-ok"].threshold == ">= 1 (no rows)"
    assert results["sum-ok"].observed == 0
    assert results["hours-ko"].observed == 3
    for rid in ("mean-ko", "median-ko", "stddev-ko", "fresh-ko", "psi-ko", "ks-ko", "anomaly-ko", "sql-ko"):
        assert results[rid].observed is None, rid
        assert "observed none" in results[rid].message


@integration
def test_no_rules_no_job_and_row_rules_are_refused(spark):
    df = payload_df(spark, [{"x": 1}])
    spark.sparkContext.setJobGroup("weir-dataset-no-rules", "no rules")
    try:
        assert evaluate_dataset(df, []) == []
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    assert list(spark.sparkContext.statusTracker().getJobIdsForGroup("weir-dataset-no-rules")) == []
    row_rules = parse_contract('{"event_type": "x.y", "rules": [{"id": "r", "rule": "not_null", "field": "a"}]}')
    with pytest.raises(UnsupportedRuleError, match="no dataset check 'not_null'"):
        evaluate_dataset(df, row_rules.row_rules)


# --- one aggregation, one job ------------------------------------------------------------------------------


@integration
def test_all_metrics_of_all_rules_run_in_one_spark_job(spark):
    a = "payload.amount"
    entries = [
        rule("rows", "row_count_between", min=1),
        rule("complete", "completeness", "payload.customer_id", threshold=0.5),
        rule("unique", "unique", fields=["payload.customer_id", "i"]),
        rule("distinct", "distinct_count_between", "payload.currency", min=1),
        rule("mean", "mean_between", a, min=0),
        rule("median", "median_between", a, min=0),
        rule("stddev", "stddev_between", a, max=100),
        rule("q", "quantile_between", a, quantile=0.9, min=0),
        rule("monotonic", "monotonic", "payload.seq", order_by="i"),
        rule("psi", "drift_psi", a, bins=[5, 10], expected=[0.2, 0.3, 0.5]),
        rule("ks", "drift_ks", a, reference=list(range(1, 19))),
        rule("anomaly", "anomaly", metric="row_count"),
        rule("sql", "sql_aggregate", expr="count(*)", min=1),
    ]
    rules = compiled(*entries)
    df = payload_df(spark, _orders())
    sc = spark.sparkContext
    tracker = sc.statusTracker()

    def jobs(group: str, adaptive: str, selected: Any = rules) -> int:
        previous = spark.conf.get("spark.sql.adaptive.enabled")
        spark.conf.set("spark.sql.adaptive.enabled", adaptive)
        try:
            sc.setJobGroup(group, group)
            results = evaluate_dataset(df, selected, context=DatasetContext(now=NOW))
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
            sc.setLocalProperty("spark.job.description", None)
            spark.conf.set("spark.sql.adaptive.enabled", previous)
        assert all(r.passed for r in results), [r for r in results if not r.passed]
        return len(tracker.getJobIdsForGroup(group))

    # Without adaptive execution a query is one job, whatever its stages: all 12 rules but `unique` are one
    # query; `unique`'s exact distinct count is a second one over the rows the first cached.
    assert jobs("weir-dataset-one-pass", "false") == 2
    assert jobs("weir-dataset-no-unique", "false", [r for r in rules if r.id != "unique"]) == 1
    assert jobs("weir-dataset-unique-alone", "false", [r for r in rules if r.id == "unique"]) == 1


@integration
def test_an_exact_distinct_count_beside_sketches_costs_a_few_scans_not_a_sketch_per_key(spark):
    """`unique` with `median`/`quantile`/`drift_ks` in one aggregation made Spark keep a percentile sketch per
    distinct key: 283k rows took over 9 minutes against 1.4 s for a plain scan. Now a few scans' worth."""
    a = "payload.amount"
    rules = compiled(
        rule("unique", "unique", fields=["event_id"]),
        rule("median", "median_between", a, min=0),
        rule("q", "quantile_between", a, quantile=0.9, min=0),
        rule("ks", "drift_ks", a, reference=list(range(1, 101))),
    )
    df = (
        spark.range(60_000)
        .selectExpr("CAST(id AS STRING) AS event_id", "to_json(named_struct('amount', id % 100 + 1)) AS payload")
        .persist()
    )
    try:
        df.count()
        started = time.perf_counter()
        df.agg(F.count("*"), F.max("payload")).collect()
        plain = time.perf_counter() - started
        started = time.perf_counter()
        results = evaluate_dataset(df, rules, context=DatasetContext(now=NOW))
        swept = time.perf_counter() - started
    finally:
        df.unpersist()
    assert results[0].passed, results[0]
    assert results[0].observed == 0
    assert swept < max(30 * plain, 20.0), (swept, plain)


# --- reconciliation -------------------------------------------------------------------------------------------


@integration
def test_reconcile_counts_against_a_delta_table(spark, tmp_path):
    other = str(tmp_path / "silver")
    kinds = ["order.created"] * 4 + ["page.viewed"] * 2
    spark.createDataFrame(
        [(f"e{i}", k) for i, k in enumerate(kinds)], "event_id string, event_type string"
    ).write.format("delta").save(other)
    df = spark.createDataFrame(
        [(f"e{i}", k) for i, k in enumerate([*kinds, "order.created"])], "event_id string, event_type string"
    )
    orders = "event_type = 'order.created'"
    results = run(
        df,
        rule("all-ko", "reconcile_counts", other_table=other),
        rule("tolerant-ok", "reconcile_counts", other_table=other, tolerance=1),
        rule("views-ok", "reconcile_counts", other_table=other, where="event_type = 'page.viewed'"),
        rule("orders-ko", "reconcile_counts", other_table=f"file://{other}", where=orders),
        rule("missing-ko", "reconcile_counts", other_table=str(tmp_path / "nowhere")),
    )
    assert_outcomes(results)
    assert results["all-ko"].observed == 1
    assert results["all-ko"].threshold == "|difference| <= 0 (other table: 6 rows)"
    assert results["orders-ko"].observed == 1
    assert results["missing-ko"].observed is None
    assert "cannot read" in results["missing-ko"].threshold
