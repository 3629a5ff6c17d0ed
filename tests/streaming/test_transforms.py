"""The pure transforms on crafted Kafka rows (a real Spark session, batch DataFrames)."""

import datetime as dt
import uuid

import orjson
import pytest

from streaming.job import KAFKA_SOURCE_SCHEMA
from streaming.transforms import parse_events, to_bronze, to_silver

pytestmark = pytest.mark.integration


def record(**fields):
    base = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.created",
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


def kafka_rows(spark, values):
    ts = dt.datetime(2026, 11, 25, 0, 0, 2)
    rows = [(None, v, "weir.events.v1", 0, i, ts, 0) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_SOURCE_SCHEMA)


def test_a_valid_record_is_parsed_with_its_payload_kept_as_json(spark):
    event_id = str(uuid.uuid4())
    [row] = parse_events(kafka_rows(spark, [record(event_id=event_id)])).collect()
    assert row.envelope_ok is True
    assert row.event_id == event_id
    assert orjson.loads(row.payload) == {"amount": 1.5, "items": [1, 2]}
    assert row.occurred_at == dt.datetime(2026, 11, 24, 23, 30)


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        b"",
        b'{"n": 1}',
        record(event_id="nope"),
        record(event_id=...),
        record(event_type="Bad Type"),
        record(occurred_at="yesterday"),
        record(received_at=...),
        record(tenant=...),
        record(payload=[1, 2]),
        record(payload="text"),
    ],
)
def test_records_without_a_usable_envelope_are_flagged_not_dropped(spark, value):
    parsed = parse_events(kafka_rows(spark, [value]))
    [row] = parsed.collect()
    assert row.envelope_ok is False
    assert to_bronze(parsed).count() == 1
    assert to_silver(parsed).count() == 0


def test_silver_keeps_one_row_per_event_id_and_dates_by_occurred_at_in_utc(spark):
    dup = str(uuid.uuid4())
    late = str(uuid.uuid4())
    values = [
        record(event_id=dup, received_at="2026-11-25T00:00:02Z"),
        record(event_id=dup, received_at="2026-11-25T00:00:01Z", source="first"),
        record(event_id=late, occurred_at="2026-11-20T01:00:00+03:00"),
    ]
    silver = {r.event_id: r for r in to_silver(parse_events(kafka_rows(spark, values))).collect()}
    assert set(silver) == {dup, late}
    assert silver[dup].source == "first"
    assert silver[dup].event_date == dt.date(2026, 11, 24)
    assert silver[late].event_date == dt.date(2026, 11, 19)


def test_bronze_is_partitioned_by_the_day_received(spark):
    [row] = to_bronze(parse_events(kafka_rows(spark, [record()]))).collect()
    assert row.ingest_date == dt.date(2026, 11, 25)
    [garbage] = to_bronze(parse_events(kafka_rows(spark, [b"{"]))).collect()
    assert garbage.ingest_date == dt.date(2026, 11, 25)
    assert garbage.raw == "{"
