"""Crafted Kafka records and contracts for the streaming tests."""

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import orjson

from quality import load_contracts

CONTRACTS_DIR = Path(__file__).parent / "contracts"


def contracts() -> dict[str, Any]:
    return load_contracts(CONTRACTS_DIR)


def stream_settings(home: Path, bootstrap: str, topic: str, failures_topic: str, **extra: Any) -> Any:
    """`StreamSettings` of a query over private topics with the test contracts (the session's Spark already has
    the jars)."""
    from streaming.settings import StreamSettings

    return StreamSettings(
        home=home,
        kafka_bootstrap=bootstrap,
        spark_jars_dir=home / "unused",
        events_topic=topic,
        failures_topic=failures_topic,
        contracts_dir=CONTRACTS_DIR,
        **extra,
    )


def record(**fields: Any) -> bytes:
    """A record as the gateway publishes it; a field set to `...` is left out."""
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "shop.order",
        "schema_version": 1,
        "occurred_at": "2026-11-24T23:30:00.000000Z",
        "source": "t",
        "key": None,
        "payload": {"amount": 1.5, "items": [1, 2]},
        "tenant": "acme",
        "received_at": "2026-11-25T00:00:01.000000Z",
    }
    base.update(fields)
    return orjson.dumps({k: v for k, v in base.items() if v is not ...})


def kafka_rows(spark: Any, values: list[bytes], *, topic: str = "weir.events.v1", start: int = 0) -> Any:
    from lake.schemas import KAFKA_SOURCE_SCHEMA

    ts = dt.datetime(2026, 11, 25, 0, 0, 2)
    rows = [(None, v, topic, 0, start + i, ts, 0) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_SOURCE_SCHEMA)
