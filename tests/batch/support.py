"""A lake as the stream leaves it, for the batch tests: records written by the stream's own micro-batch code
(`streaming.job.write_batch`, no query, no Kafka source), so that what a batch job reads is exactly what the
stream writes. Records are the gateway's format (`tests.streaming.support.record`)."""

import datetime as dt
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lake.schemas import table_schemas
from lake.tables import ensure_tables
from quality import load_contracts
from streaming.job import BatchResult, BatchTarget, write_batch
from tests.streaming.support import CONTRACTS_DIR, kafka_rows, record

__all__ = ["CONTRACTS_DIR", "event_on", "record", "write_stream_batch"]


def event_on(day: dt.date, *, hour: int = 12, received: dt.datetime | None = None, **fields: Any) -> bytes:
    """A `shop.order` record (the test contracts') that occurred on `day` at `hour` UTC, received at `received`
    (default: the day after, 00:00:01)."""
    got = received or dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0, 1))
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": f"{day.isoformat()}T{hour:02d}:00:00.000000Z",
        "received_at": got.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    base.update(fields)
    return record(**base)


def write_stream_batch(
    spark: Any,
    lake: str,
    values: Iterable[bytes],
    *,
    batch_id: int,
    kafka_bootstrap: str,
    failures_topic: str,
    contracts_dir: Path = CONTRACTS_DIR,
    app_id: str = "seed",
    offset: int = 0,
    check_tables: bool = True,
) -> BatchResult:
    """One stream micro-batch of `values` (Kafka offsets from `offset`) into bronze, silver, quarantine and the
    failure topic, as `weir stream` writes it (`check_tables=False`: as the `state` mode writes a copy received
    after its window)."""
    ensure_tables(spark, lake, table_schemas(spark))
    contracts = load_contracts(contracts_dir)
    target = BatchTarget(lake, app_id, contracts, kafka_bootstrap, failures_topic, check_tables=check_tables)
    return write_batch(kafka_rows(spark, list(values), start=offset), batch_id, target)


def new_topic() -> str:
    return f"weir.dq-failures.test-{uuid.uuid4().hex[:8]}"
