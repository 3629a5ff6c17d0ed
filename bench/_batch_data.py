"""The lake and contracts of bench/batch.py: bronze, silver and quarantine written directly by Spark in the
stream's schemas (`_lake_data`: the same events the stream would have routed), each partition in several small
files as the stream leaves it; and one contracts dir whose `order.created` holds the 50 row rules of
bench/_stream_data.py (the backfill's) and 20 dataset rules (the sweep's), all of which the data passes."""

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench._lake_data import envelope, to_bronze, to_quarantine, to_silver
from bench._stream_data import EVENT_TYPE, rules_50
from lake.schemas import table_schemas
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, ensure_tables, table_uri


def dataset_rules(start: datetime, days: int) -> list[dict[str, Any]]:
    """20 dataset rules over `order.created`, of 18 kinds (docs/rules.md), each passing on this data."""
    a = "payload.amount"
    day = start.date().isoformat()

    def r(rid: str, rule: str, field: str | None = None, **params: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"id": rid, "rule": rule, "severity": "warn"}
        if field:
            out["field"] = field
        if params:
            out["params"] = params
        return out

    return [
        r("orders-exist", "row_count_between", min=1),
        r("event-id-unique", "unique", fields=["event_id"]),
        r("customer-rarely-null", "null_ratio_at_most", "payload.customer_id", threshold=0.01),
        r("amount-complete", "completeness", a, threshold=0.99),
        r("amount-mean", "mean_between", a, min=1, max=1000),
        r("amount-min", "min_between", a, min=0),
        r("amount-max", "max_between", a, max=100000),
        r("amount-sum", "sum_between", a, min=0),
        r("amount-stddev", "stddev_between", a, max=10000),
        r("amount-median", "median_between", a, min=1, max=1000),
        r("amount-p95", "quantile_between", a, quantile=0.95, max=5000),
        r("currencies", "distinct_count_between", "payload.currency", min=1, max=40),
        r("countries", "distinct_count_between", "payload.country", min=1, max=250),
        r("ids-distinct", "distinct_ratio_between", "event_id", min=0.9),
        r("orders-fresh", "freshness", "occurred_at", max_age_seconds=(days + 400) * 86_400),
        r("no-empty-hour", "no_empty_hours", "occurred_at", start=f"{day}T12:00:00Z", end=f"{day}T18:00:00Z"),
        r("amount-psi", "drift_psi", a, bins=[100, 300, 500], expected=[0.2, 0.4, 0.4, 0.0], threshold=10.0),
        r("amount-ks", "drift_ks", a, reference=[float(v) for v in range(20, 1000, 60)], threshold=1.0),
        r("amount-anomaly", "anomaly", a, metric="mean", k=3.0, min_history=5),
        r("order-share", "sql_aggregate", expr="count_if(event_type = 'order.created') / count(*)", min=0.5),
    ]


def write_contracts(directory: Path, start: datetime, days: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    contract = {
        "event_type": EVENT_TYPE,
        "description": "bench/batch.py: 50 row rules (backfill) and 20 dataset rules (sweep).",
        "owner": "bench",
        "schema_versions": [1],
        "edge_validation": False,
        "rules": rules_50(),
        "dataset_rules": dataset_rules(start, days),
    }
    (directory / f"{EVENT_TYPE}.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
    default = {"event_type": "_default", "description": "no rules", "schema_versions": [1], "rules": []}
    (directory / "_default.yaml").write_text(yaml.safe_dump(default, sort_keys=False))
    return directory


def write_small_files(df: DataFrame, uri: str, partitions: list[str], rows_per_file: int) -> None:
    """Append `df` with each partition's rows in files of `rows_per_file` rows (the stream's many small files)."""
    df.repartition(*partitions).write.format("delta").mode("append").option("maxRecordsPerFile", rows_per_file).save(
        uri
    )


def build_lake(spark: SparkSession, lake: str, rows: int, days: int, start: datetime, files: int) -> dict[str, int]:
    """Bronze (every record), silver and quarantine (first copies) of `rows` records received over `days` days
    from `start`, about `files` files per partition. Returns each table's row count."""
    ensure_tables(spark, lake, table_schemas(spark))
    env = envelope(spark.range(0, rows, numPartitions=8), rows, days=days, start=start)
    per_partition = {BRONZE: rows // days, SILVER: rows // (days * 3), QUARANTINE: rows // (days * 40)}
    counts: dict[str, int] = {}
    for name, shape in ((BRONZE, to_bronze), (SILVER, to_silver), (QUARANTINE, to_quarantine)):
        uri = table_uri(lake, name)
        write_small_files(shape(env), uri, PARTITIONS[name], max(1, per_partition[name] // files))
        counts[name] = int(spark.read.format("delta").load(uri).agg(F.count(F.lit(1))).first()[0])  # type: ignore[index]
    return counts
