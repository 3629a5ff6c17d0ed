"""lake.tables' creation of the tables on a real Delta lake."""

import pytest
from delta.tables import DeltaTable

from lake.schemas import table_schemas
from lake.tables import BRONZE, PARTITIONS, QUARANTINE, SILVER, TABLE_PROPERTIES, ensure_tables, table_uri

pytestmark = pytest.mark.integration


def test_the_tables_are_created_partitioned_with_a_checkpoint_every_100_commits(spark, lake: str) -> None:
    ensure_tables(spark, lake, table_schemas(spark))
    ensure_tables(spark, lake, table_schemas(spark))  # a second start creates nothing
    for name in (BRONZE, SILVER, QUARANTINE):
        detail = DeltaTable.forPath(spark, table_uri(lake, name)).detail().first()
        assert detail is not None
        assert detail["partitionColumns"] == PARTITIONS[name]
        assert detail["properties"]["delta.checkpointInterval"] == TABLE_PROPERTIES["delta.checkpointInterval"] == "100"
        assert DeltaTable.forPath(spark, table_uri(lake, name)).history().count() == 1
