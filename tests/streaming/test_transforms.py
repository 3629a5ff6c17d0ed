"""The envelope transforms on crafted Kafka rows (a real Spark session, batch DataFrames)."""

import datetime as dt
import uuid

import orjson
import pytest

from streaming.transforms import mark_first, parse_events, to_bronze
from tests.streaming.support import kafka_rows, record

pytestmark = pytest.mark.integration


def test_a_valid_record_is_parsed_with_its_payload_kept_as_json(spark):
    event_id = str(uuid.uuid4())
    [row] = parse_events(kafka_rows(spark, [record(event_id=event_id)])).collect()
    assert row.envelope_ok is True
    assert row.envelope_failures == []
    assert row.event_id == row.record_id == event_id
    assert orjson.loads(row.payload) == {"amount": 1.5, "items": [1, 2]}
    assert row.occurred_at == dt.datetime(2026, 11, 24, 23, 30)


BAD = [
    (b"not json", ["envelope.unparseable"]),
    (b"", ["envelope.unparseable"]),
    (b"[1, 2]", ["envelope.unparseable"]),
    (b'{"event_id": "x", broken', ["envelope.unparseable"]),
    (record(schema_version="two"), ["envelope.unparseable"]),
    (
        b'{"n": 1}',
        ["envelope.event_id", "envelope.event_type", "envelope.occurred_at", "envelope.payload", "envelope.stamp"],
    ),
    (record(event_id="nope"), ["envelope.event_id"]),
    (record(event_id=str(uuid.uuid4()).upper()), ["envelope.event_id"]),
    (record(event_id=...), ["envelope.event_id"]),
    (record(event_type="Bad Type"), ["envelope.event_type"]),
    (record(occurred_at="yesterday"), ["envelope.occurred_at"]),
    (record(occurred_at="2026-11-24T23:30:00"), ["envelope.occurred_at"]),
    (record(received_at=...), ["envelope.stamp"]),
    (record(tenant=...), ["envelope.stamp"]),
    (record(payload=[1, 2]), ["envelope.payload"]),
    (record(payload=...), ["envelope.payload"]),
]


def test_records_without_a_usable_envelope_name_the_envelope_rules_they_broke(spark):
    parsed = parse_events(kafka_rows(spark, [value for value, _ in BAD]))
    rows = sorted(parsed.collect(), key=lambda r: r.kafka_offset)
    for (value, want), row in zip(BAD, rows, strict=True):
        assert row.envelope_ok is False, value
        assert [f.rule for f in row.envelope_failures] == want, value
        assert {f.severity for f in row.envelope_failures} == {"quarantine"}
    unusable_ids = [row.record_id for row in rows if row.event_id is None or "nope" in row.event_id]
    assert all(rid.startswith("kafka:weir.events.v1/0/") for rid in unusable_ids)
    assert to_bronze(parsed).count() == len(BAD)


def test_the_first_copy_of_each_event_is_the_earliest_received(spark):
    dup = str(uuid.uuid4())
    values = [
        record(event_id=dup, received_at="2026-11-25T00:00:02Z", source="second"),
        record(event_id=dup, received_at="2026-11-25T00:00:01Z", source="first"),
        b"garbage",
        b"garbage",
    ]
    rows = mark_first(parse_events(kafka_rows(spark, values))).collect()
    firsts = {(r.record_id, r.source) for r in rows if r.is_first}
    assert (dup, "first") in firsts
    assert (dup, "second") not in firsts
    assert sum(r.is_first for r in rows if r.record_id.startswith("kafka:")) == 2  # garbage is never a duplicate


def test_bronze_is_partitioned_by_the_day_received(spark):
    [row] = to_bronze(parse_events(kafka_rows(spark, [record()]))).collect()
    assert row.ingest_date == dt.date(2026, 11, 25)
    [garbage] = to_bronze(parse_events(kafka_rows(spark, [b"{"]))).collect()
    assert garbage.ingest_date == dt.date(2026, 11, 25)
    assert garbage.raw == "{"
