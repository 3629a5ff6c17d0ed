"""The schemas of bronze, silver and quarantine, derived from the transforms that fill them (so a column added
to a transform is in the table's schema), and the schema of the Kafka records the transforms read."""

from pyspark.sql import SparkSession
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lake.routing import route, to_quarantine, to_silver
from lake.tables import BRONZE, QUARANTINE, SILVER
from lake.transforms import mark_first, parse_events, to_bronze

KAFKA_SOURCE_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
    ]
)


def _nullable(schema: StructType) -> StructType:
    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


def table_schemas(spark: SparkSession) -> dict[str, StructType]:
    """bronze, silver and quarantine schemas, derived from the transforms themselves (the routed columns do not
    depend on the contracts' rules, so none are built for this)."""
    parsed = mark_first(parse_events(spark.createDataFrame([], KAFKA_SOURCE_SCHEMA)))
    routed = route(parsed, {})
    return {
        BRONZE: _nullable(to_bronze(parsed).schema),
        SILVER: _nullable(to_silver(routed).schema),
        QUARANTINE: _nullable(to_quarantine(routed).schema),
    }
