"""Data quality in the stream, as pure DataFrame -> DataFrame transforms: each parsed event is matched to its
contract by `event_type` and `schema_version` and checked by `quality`'s Spark engine in one projection; the
result is `failed_rules` (envelope rules for a record without a usable envelope, else the contract's) and an
`outcome`: `quarantine` when a rule of severity `quarantine` or `fail` broke, else `silver`.

From the routed rows: `to_silver`, `to_quarantine` (first copies only) and `to_failure_messages` (the Kafka
records of the DQ-failure topic, in the format of CONTRACT.md).
"""

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lake.transforms import FAILED_RULES, PAYLOAD_VARIANT, failure, no_failures, parse_events
from quality import CompiledContract
from quality.contract import DEFAULT_EVENT_TYPE
from quality.engines.spark import with_contract_failures

BLOCKING = ("quarantine", "fail")
SILVER, QUARANTINE = "silver", "quarantine"
VERSION_RULE = "envelope.schema_version"
_RFC3339_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"


def _version_failures(contracts: Mapping[str, CompiledContract]) -> Column:
    """`envelope.schema_version` when an event's version is not one its contract lists (the default contract
    accepts any version: it knows nothing of the event type)."""
    version = F.coalesce(F.col("schema_version"), F.lit(1))
    expr: Column | None = None
    for name, contract in sorted(contracts.items()):
        known = ", ".join(str(v) for v in contract.schema_versions)
        bad = failure(VERSION_RULE, f"schema_version is not one of {name}'s versions ({known})")
        branch = F.when(version.isin(*contract.schema_versions), no_failures()).otherwise(bad)
        cond = F.col("event_type") == F.lit(name)
        expr = F.when(cond, branch) if expr is None else expr.when(cond, branch)
    return no_failures() if expr is None else expr.otherwise(no_failures())


def has_severity(failures: Column, *severities: str) -> Column:
    """Some entry of a `failed_rules` array has one of `severities` (codegen-friendly: no lambda)."""
    out = F.lit(False)
    for severity in severities:
        out = out | F.coalesce(F.array_contains(failures.getField("severity"), severity), F.lit(False))
    return out


def route(parsed: DataFrame, contracts: Mapping[str, CompiledContract]) -> DataFrame:
    """`parsed` (from `parse_events`) plus `failed_rules` and `outcome`. Time rules compare with `batch_ts`,
    the micro-batch's timestamp that Spark records in its offset log, so a replayed batch gets the same verdicts."""
    typed = {k: v for k, v in contracts.items() if k != DEFAULT_EVENT_TYPE}
    checked = with_contract_failures(
        parsed,
        typed,
        default=contracts.get(DEFAULT_EVENT_TYPE),
        now=F.col("batch_ts"),
        column="_dq",
        payload_variant=PAYLOAD_VARIANT,
    )
    failures = F.when(F.col("envelope_ok"), F.concat(_version_failures(typed), F.col("_dq"))).otherwise(
        F.col("envelope_failures")
    )
    return (
        checked.withColumn(FAILED_RULES, failures)
        .drop("_dq")
        .withColumn("outcome", F.when(has_severity(F.col(FAILED_RULES), *BLOCKING), QUARANTINE).otherwise(SILVER))
    )


def _firsts(routed: DataFrame, outcome: str) -> DataFrame:
    return routed.where(F.col("is_first") & (F.col("outcome") == outcome))


def event_date(*candidates: str) -> Column:
    return F.to_date(F.coalesce(*(F.col(c) for c in candidates)))


def to_silver(routed: DataFrame) -> DataFrame:
    """Events that broke no blocking rule, once each; `dq_warnings` holds the warn-level rules they broke.
    Partitioned by `event_date` (from `occurred_at`, UTC) and `event_type`."""
    return _firsts(routed, SILVER).select(
        "event_id",
        "event_type",
        F.coalesce("schema_version", F.lit(1)).alias("schema_version"),
        "occurred_at",
        "source",
        "key",
        "payload",
        "tenant",
        "received_at",
        F.to_date("occurred_at").alias("event_date"),
        F.col(FAILED_RULES).alias("dq_warnings"),
        "kafka_partition",
        "kafka_offset",
    )


def to_quarantine(routed: DataFrame) -> DataFrame:
    """Records that broke a blocking rule (envelope rules included), once each, with every rule they broke.
    `quarantine_id` is the `event_id`, or `kafka:<topic>/<partition>/<offset>` for a record without a usable one.
    Partitioned by `event_date` (from `occurred_at`, else `received_at`, else the Kafka timestamp)."""
    return _firsts(routed, QUARANTINE).select(
        F.col("record_id").alias("quarantine_id"),
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "source",
        "key",
        "payload",
        "tenant",
        "received_at",
        event_date("occurred_at", "received_at", "kafka_timestamp").alias("event_date"),
        FAILED_RULES,
        "raw",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        F.col("batch_ts").alias("quarantined_at"),
    )


def to_failure_messages(routed: DataFrame, stage: str = "stream", *, every_event: bool = False) -> DataFrame:
    """`key`, `value` for the DQ-failure topic: one message per failing event (warn and quarantine alike), keyed
    by its `record_id`, with the original envelope under `event` (or, for an unparseable record, `event` null and
    the text under `raw`). `every_event`: a message for every first copy, passing ones too (`failed_rules`
    empty: a replay's verdict that an event passes now)."""
    unparseable = F.col("unparseable")
    message = F.struct(
        F.when(~unparseable, F.col("event_id")).alias("event_id"),
        F.when(~unparseable, F.col("event_type")).alias("event_type"),
        F.when(~unparseable, F.col("tenant")).alias("tenant"),
        F.lit(stage).alias("stage"),
        F.col(FAILED_RULES).alias("failed_rules"),
        F.when(~unparseable, F.try_parse_json(F.col("raw"))).alias("event"),
        F.date_format(F.col("batch_ts"), _RFC3339_FORMAT).alias("detected_at"),
        F.when(unparseable, F.col("raw")).alias("raw"),
    )
    wanted = F.col("is_first") if every_event else F.col("is_first") & (F.size(FAILED_RULES) > 0)
    return routed.where(wanted).select(
        F.col("record_id").cast("binary").alias("key"),
        F.to_json(message, {"ignoreNullFields": "false"}).cast("binary").alias("value"),
    )


def prepare(kafka: DataFrame, contracts: Mapping[str, CompiledContract]) -> DataFrame:
    """Kafka records -> parsed and routed rows (`parse_events`, then `route`): projections only, valid on a
    streaming DataFrame. The stream applies it once, to the streaming DataFrame, so the plan of the contracts'
    rules is built and analysed once per query rather than once per micro-batch."""
    return route(parse_events(kafka), contracts)
