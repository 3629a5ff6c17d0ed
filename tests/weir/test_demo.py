"""`weir demo` reports what it read back: its bronze count comes from the table, the raw record included."""

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from weir.demo import count_bronze, wait_bronze
from weir.exceptions import StackError

RAW = "kafka:weir.events.v1/1/7"


def _bronze(lake, rows):
    table = pa.table(
        {
            "event_id": pa.array([r[0] for r in rows], pa.string()),
            "kafka_topic": pa.array(["weir.events.v1"] * len(rows), pa.string()),
            "kafka_partition": pa.array([r[1] for r in rows], pa.int32()),
            "kafka_offset": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    write_deltalake(f"{lake}/bronze/events", table, mode="overwrite")


def test_bronze_counts_every_copy_of_this_run_s_events_and_its_raw_record(tmp_path):
    _bronze(tmp_path, [("a", 0, 1), ("a", 2, 4), ("b", 0, 2), (None, 1, 7), ("other-run", 0, 3), (None, 1, 8)])
    assert count_bronze(str(tmp_path), {"a", "b"}, {RAW}) == 4
    assert count_bronze(str(tmp_path), {"a", "b"}, set()) == 3


def test_a_raw_record_missing_from_bronze_is_reported_not_counted(tmp_path):
    _bronze(tmp_path, [("a", 0, 1), ("a", 2, 4), ("b", 0, 2)])
    with pytest.raises(StackError, match=r"3/4 records of this run are in bronze"):
        wait_bronze(str(tmp_path), {"a", "b"}, {RAW}, want=4, timeout_s=0)
    assert wait_bronze(str(tmp_path), {"a", "b"}, {RAW}, want=3, timeout_s=0) == 3


def test_no_bronze_table_yet_counts_nothing(tmp_path):
    assert count_bronze(str(tmp_path), {"a"}, {RAW}) == 0
