"""The envelope transforms on crafted Kafka rows (a real Spark session, batch DataFrames)."""

import datetime as dt
import uuid

import orjson
import pytest
from pydantic import ValidationError

from ingest.envelope import EventEnvelope, stamp
from lake.transforms import mark_first, parse_events, to_bronze
from tests.streaming.support import kafka_rows, record
from tests.support import make_event

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
    # A JSON string that looks like an object is a string (the gateway refuses it too).
    (record(payload='{"amount": 1}'), ["envelope.payload"]),
    (record(payload="{"), ["envelope.payload"]),
    (record(payload=None), ["envelope.payload"]),
    # Java's `$` matches before a final newline; the envelope's patterns are anchored at the absolute end.
    (record(event_id=str(uuid.uuid4()) + "\n"), ["envelope.event_id"]),
    (record(event_type="shop.order\n"), ["envelope.event_type"]),
    (record(occurred_at="2026-11-24T23:30:00Z\n"), ["envelope.occurred_at"]),
    # RFC 3339 as the gateway reads it: seconds required, at most 6 fraction digits, an offset with a colon.
    (record(occurred_at="2026-11-24T23:30Z"), ["envelope.occurred_at"]),
    (record(occurred_at="2026-11-24T23:30:00+0100"), ["envelope.occurred_at"]),
    (record(occurred_at="2026-11-24T23:30:00.1234567Z"), ["envelope.occurred_at"]),
    (record(occurred_at="2026-02-30T23:30:00Z"), ["envelope.occurred_at"]),
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


# Spellings of `occurred_at`, some RFC 3339 and some not: the gateway and the stream must agree on each.
_STAMPS = [
    "2026-11-24T23:30:00Z",
    "2026-11-24 23:30:00Z",
    "2026-11-24T23:30:00.5+01:00",
    "2026-11-24T23:30:00.123456-12:30",
    "0999-01-01T00:00:00Z",
    "2026-11-24t23:30:00Z",
    "2026-11-24T23:30:00z",
    "2026-11-24T23:30Z",
    "2026-11-24T23:30:00+0100",
    "2026-11-24T23:30:00.1234567Z",
    "2026-11-24T24:00:00Z",
    "2026-11-24T23:59:60Z",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-11-24T23:30:00+24:00",
    "2026-11-24T23:30:00",
]


def _gateway_accepts(occurred_at: str) -> bool:
    try:
        EventEnvelope.model_validate_json(orjson.dumps(make_event(occurred_at=occurred_at)))
    except ValidationError:
        return False
    return True


def test_the_stream_and_the_gateway_read_occurred_at_alike(spark):
    """One envelope definition: a record written straight to Kafka passes the stream's `occurred_at` check
    exactly when the gateway would have accepted that text, at the same instant."""
    rows = parse_events(kafka_rows(spark, [record(occurred_at=s) for s in _STAMPS])).collect()
    stream = {_STAMPS[r.kafka_offset]: r.occurred_at for r in rows}
    for text in _STAMPS:
        assert (stream[text] is not None) == _gateway_accepts(text), text
        if stream[text] is not None:
            env = EventEnvelope.model_validate_json(orjson.dumps(make_event(occurred_at=text)))
            assert stream[text] == env.occurred_at.astimezone(dt.UTC).replace(tzinfo=None), text
    assert sum(v is not None for v in stream.values()) == 5


def test_every_record_the_gateway_writes_passes_the_streams_envelope(spark):
    events = [make_event(occurred_at=s) for s in _STAMPS if _gateway_accepts(s)]
    events += [make_event(event_id=str(uuid.uuid4()).upper()), make_event(event_type="a" * 128)]
    received = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    values = [
        stamp(EventEnvelope.model_validate_json(orjson.dumps(e)), tenant="acme", received_at=received)[1]
        for e in events
    ]
    rows = parse_events(kafka_rows(spark, values)).collect()
    assert [r.envelope_failures for r in rows] == [[]] * len(events)


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


def test_the_rules_read_the_payload_parsed_with_the_envelope(spark):
    """The payload is parsed once, by the envelope's `from_json`: the rules do not parse its text again."""
    from lake.routing import route
    from tests.streaming.support import contracts

    routed = route(parse_events(kafka_rows(spark, [record()])), contracts())
    plan = routed._jdf.queryExecution().optimizedPlan().toString()
    assert "__weir_f0" in plan  # the contracts' rules do read payload fields
    assert "parsejson" not in plan.lower()  # (try_)parse_json, as the optimized plan spells it
    [row] = routed.collect()
    assert row.envelope_ok
