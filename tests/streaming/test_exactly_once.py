"""`write_batch` against real Delta tables: a replayed batch, or a re-sent event, commits nothing twice."""

import uuid

import pytest
from deltalake import DeltaTable

from streaming.job import table_schemas, write_batch
from streaming.tables import BRONZE, SILVER, ensure_tables, table_uri
from tests.streaming.test_transforms import kafka_rows, record
from weir.stack.lake import column

pytestmark = pytest.mark.integration


def ids(lake, table):
    return column(table_uri(lake, table), "event_id")


def test_replaying_a_batch_and_resending_events_leaves_one_row_each(spark, lake):
    ensure_tables(spark, lake, *table_schemas(spark))
    first = [str(uuid.uuid4()) for _ in range(5)]
    batch0 = kafka_rows(spark, [record(event_id=i) for i in first] + [b"garbage"])
    write_batch(batch0, 0, lake=lake, app_id="t")
    write_batch(batch0, 0, lake=lake, app_id="t")  # the same batch again, as after a crash before commit
    assert sorted(ids(lake, SILVER)) == sorted(first)
    assert len(ids(lake, BRONZE)) == 6

    second = [str(uuid.uuid4()) for _ in range(3)]
    batch1 = kafka_rows(spark, [record(event_id=i) for i in [*second, first[0], first[1]]])
    result = write_batch(batch1, 1, lake=lake, app_id="t")
    assert result.bronze_rows == 5
    silver = ids(lake, SILVER)
    assert sorted(silver) == sorted(first + second)
    assert len(silver) == len(set(silver))
    assert len(ids(lake, BRONZE)) == 11


def test_an_empty_batch_writes_nothing(spark, lake):
    ensure_tables(spark, lake, *table_schemas(spark))
    version = DeltaTable(table_uri(lake, BRONZE)).version()
    assert write_batch(kafka_rows(spark, []), 0, lake=lake, app_id="t").bronze_rows == 0
    assert DeltaTable(table_uri(lake, BRONZE)).version() == version
