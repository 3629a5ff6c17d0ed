"""The Spark engine in a stream, and its cost: one projection, no Spark job of its own."""

import orjson
import pytest

from quality.engines.python import evaluate
from quality.engines.spark import with_contract_failures, with_dq_failures
from quality.loader import parse_contract
from tests.quality.support import NOW

pytestmark = pytest.mark.integration

CONTRACT = parse_contract(
    """
event_type: order.created
fields:
  order_id: {type: string, required: true}
  amount: {type: number, required: true}
rules:
  - {id: items-not-empty, rule: not_empty, field: payload.items, severity: warn}
"""
)


def _payloads():
    return [
        {"order_id": "A-1", "amount": 5, "items": [1]},
        {"order_id": None, "amount": "5", "items": []},
        {"amount": 1.5},
    ]


EXPECTED = [
    [],
    ["schema.order_id.required", "schema.amount.type", "items-not-empty"],
    ["schema.order_id.required", "items-not-empty"],
]


def test_rules_run_inside_foreach_batch_of_a_streaming_query(spark, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for i, payload in enumerate(_payloads()):
        (source / f"{i}.json").write_text(orjson.dumps({"i": i, "payload": orjson.dumps(payload).decode()}).decode())
    seen: dict[int, list[str]] = {}

    def each_batch(batch, _batch_id):
        for row in with_dq_failures(batch, CONTRACT.row_rules, now=NOW).collect():
            seen[row.i] = [f.rule for f in row.dq_failures]

    stream = spark.readStream.schema("i int, payload string").json(str(source))
    query = (
        stream.writeStream.foreachBatch(each_batch)
        .option("checkpointLocation", str(tmp_path / "ck"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(120)
    assert query.exception() is None
    assert [seen[i] for i in range(3)] == EXPECTED


def test_rules_are_a_plain_projection_on_a_streaming_dataframe(spark, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for i, payload in enumerate(_payloads()):
        (source / f"{i}.json").write_text(orjson.dumps({"i": i, "payload": orjson.dumps(payload).decode()}).decode())
    stream = with_dq_failures(spark.readStream.schema("i int, payload string").json(str(source)), CONTRACT.row_rules)
    assert stream.isStreaming
    query = (
        stream.writeStream.format("memory")
        .queryName("dq_projection")
        .trigger(availableNow=True)
        .option("checkpointLocation", str(tmp_path / "ck"))
        .start()
    )
    query.awaitTermination(120)
    rows = spark.sql("select i, dq_failures from dq_projection order by i").collect()
    assert [[f.rule for f in r.dq_failures] for r in rows] == EXPECTED


def test_contracts_are_chosen_by_event_type(spark):
    other = parse_contract("event_type: page.viewed\nfields:\n  url: {type: string, required: true}\n")
    default = parse_contract(
        "event_type: _default\nrules:\n  - {id: d, rule: not_empty, field: payload, severity: warn}\n"
    )
    rows = [
        ("order.created", orjson.dumps({"order_id": "A", "amount": 1, "items": [2]}).decode()),
        ("page.viewed", orjson.dumps({"order_id": "A"}).decode()),
        ("other.kind", "{}"),
        (None, "{}"),
        ("order.created", "{}"),
    ]
    df = spark.createDataFrame(rows, "event_type string, payload string")
    out = with_contract_failures(df, {"order.created": CONTRACT, "page.viewed": other}, default=default)
    got = [[f.rule for f in r.dq_failures] for r in out.collect()]
    # each row gets its own contract's failures only (the page view would break two of order.created's rules)
    assert got == [
        [],
        ["schema.url.required"],
        ["d"],
        ["d"],
        ["schema.order_id.required", "schema.amount.required", "items-not-empty"],
    ]


def _jobs_for(spark, group, action):
    sc = spark.sparkContext
    sc.setJobGroup(group, group)
    try:
        action()
    finally:
        sc.setJobGroup("", "")
    return len(sc.statusTracker().getJobIdsForGroup(group))


def test_fifty_rules_add_no_spark_job_beyond_the_write(spark, tmp_path):
    kinds = [
        "not_null",
        "is_string",
        "is_number",
        "not_empty",
        "not_blank",
        "is_integer",
        "is_boolean",
        "is_array",
        "is_object",
        "is_timestamp",
    ]
    entries = [
        {"id": f"r{i}", "rule": kinds[i % len(kinds)], "field": f"payload.f{i % 7}", "severity": "warn"}
        for i in range(50)
    ]
    rules = parse_contract(orjson.dumps({"event_type": "load.test", "rules": entries}).decode()).row_rules
    assert len(rules) == 50
    payloads = [orjson.dumps({f"f{j}": (i * j if j % 2 else f"s{i}") for j in range(7)}).decode() for i in range(500)]
    df = spark.createDataFrame([(p,) for p in payloads], "payload string").repartition(2)
    plain = _jobs_for(spark, "dq-none", lambda: df.write.format("parquet").save(str(tmp_path / "a")))
    checked = _jobs_for(
        spark,
        "dq-fifty",
        lambda: with_dq_failures(df, rules).write.format("parquet").save(str(tmp_path / "b")),
    )
    assert plain >= 1
    assert checked == plain
    written = spark.read.parquet(str(tmp_path / "b"))
    assert written.where("size(dq_failures) > 0").count() > 0  # the rules did run


def test_a_field_is_parsed_and_matched_once_whatever_the_number_of_rules(spark):
    """Three temporal rules on one RFC 3339 string and two regex rules with one pattern: the optimized plan
    matches each column once (helper columns: the RFC 3339 check with its parse, by Weir's matcher or a regex;
    the user's pattern, a regex)."""
    contract = parse_contract(
        """
event_type: t
rules:
  - {id: ts, rule: is_timestamp, field: at}
  - id: window
    rule: timestamp_between
    field: at
    params: {start: "2020-01-01T00:00:00Z", end: "2030-01-01T00:00:00Z"}
  - {id: future, rule: not_in_future, field: at}
  - {id: a, rule: regex_match, field: code, params: {pattern: "^X-[0-9]+$"}}
  - {id: b, rule: regex_match, field: code, params: {pattern: "^X-[0-9]+$"}, severity: warn}
"""
    )
    rows = [("2025-06-01T10:00:00Z", "X-1"), ("2019-01-01T00:00:00Z", "Y-1"), ("2025-13-01T00:00:00Z", None)]
    df = spark.createDataFrame(rows, "at string, code string")
    out = with_dq_failures(df, contract.row_rules, now=NOW)
    plan = out._jdf.queryExecution().optimizedPlan().toString().lower()
    assert plan.count("rlike(at#") + plan.count("weir_is_rfc3339(at#") == 1
    assert plan.count("rlike(code#") == 1
    got = [[f.rule for f in r.dq_failures] for r in out.collect()]
    assert got == [[], ["window", "a", "b"], ["ts", "window", "future"]]


def test_a_payload_value_is_read_from_its_variant_once_whatever_the_number_of_rules(spark):
    """Four numeric rules on one payload field: the optimized plan reads its value as a DOUBLE once (a helper
    column), not once per rule inside each rule's CASE WHEN branch (each such read builds a Spark Cast per row)."""
    contract = parse_contract(
        """
event_type: t
rules:
  - {id: range, rule: between, field: payload.amount, params: {min: 0, max: 100}}
  - {id: positive, rule: positive, field: payload.amount}
  - {id: cents, rule: max_decimals, field: payload.amount, params: {max: 2}, severity: warn}
  - {id: capped, rule: less_than, field: payload.amount, params: {value: 50}, severity: warn}
"""
    )
    payloads = ['{"amount": 12.5}', '{"amount": -1.125}', '{"amount": "7"}', '{"amount": 99}', "{}"]
    df = spark.createDataFrame([(p,) for p in payloads], "payload string")
    out = with_dq_failures(df, contract.row_rules, now=NOW)
    plan = out._jdf.queryExecution().optimizedPlan().toString().lower()
    assert plan.count("doubletype") == 1, plan
    got = [[f.rule for f in r.dq_failures] for r in out.collect()]
    assert got == [[], ["range", "positive", "cents"], ["range", "positive", "cents", "capped"], ["capped"], []]


def test_a_whitespace_search_is_byte_searches_with_the_regex_verdicts(spark):
    """`regex_not_match` with `\\s` runs no regex (six byte searches) and says what Java's `\\s` and the Python
    engine say, for the six ASCII whitespace characters and for the look-alikes neither dialect counts."""
    contract = parse_contract(
        'event_type: t\nrules:\n  - {id: ws, rule: regex_not_match, field: s, params: {pattern: "\\\\s"}}\n'
    )
    values = [f"a{c}b" for c in " \t\n\x0b\f\r\x1c\x85\xa0\u2028\u3000"] + ["ab", "", None]
    out = with_dq_failures(spark.createDataFrame([(v,) for v in values], "s string"), contract.row_rules)
    assert "rlike" not in out._jdf.queryExecution().optimizedPlan().toString().lower()
    got = [bool(r.dq_failures) for r in out.collect()]
    assert got == [True] * 6 + [False] * 8
    assert got == [bool(evaluate({"s": v}, contract.row_rules)) for v in values]
