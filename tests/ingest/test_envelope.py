import uuid
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from ingest.envelope import EventEnvelope, envelope_error_list, kafka_key, stamp, to_record
from tests.support import make_event


def _errors(body: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        EventEnvelope.model_validate_json(orjson.dumps(body))
    return {e["path"]: e["type"] for e in envelope_error_list(info.value)}


def test_a_valid_event_parses_and_normalises_its_id():
    raw = make_event(event_id=str(uuid.uuid4()).upper())
    env = EventEnvelope.model_validate_json(orjson.dumps(raw))
    assert str(env.event_id) == raw["event_id"].lower()
    assert env.schema_version == 1


@pytest.mark.parametrize("field", ["event_id", "event_type", "occurred_at", "payload"])
def test_required_fields(field):
    body = make_event()
    del body[field]
    assert _errors(body) == {field: "missing"}


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("event_id", "not-a-uuid", "event_id"),
        ("event_type", "Order.Created", "event_type"),
        ("event_type", "x" * 129, "event_type"),
        ("event_type", "", "event_type"),
        ("occurred_at", "2026-11-25T10:00:00", "occurred_at"),
        ("occurred_at", "yesterday", "occurred_at"),
        ("occurred_at", 1_700_000_000, "occurred_at"),
        ("payload", [1, 2], "payload"),
        ("payload", "{}", "payload"),
        ("schema_version", "1", "schema_version"),
        ("schema_version", 0, "schema_version"),
        ("key", "", "key"),
    ],
)
def test_invalid_fields_are_named_by_path(field, value, path):
    assert path in _errors(make_event(**{field: value}))


@pytest.mark.parametrize("field", ["tenant", "received_at", "unexpected"])
def test_fields_the_client_may_not_send(field):
    assert _errors(make_event(**{field: "x"})) == {field: "extra_forbidden"}


def test_stamp_keys_by_key_or_event_id_and_adds_tenant_and_received_at():
    env = EventEnvelope.model_validate_json(orjson.dumps(make_event(occurred_at="2026-11-25T12:00:00+02:00")))
    received = datetime(2026, 11, 25, 11, 0, 1, 5, tzinfo=UTC)
    key, value = stamp(env, tenant="acme", received_at=received)
    record = orjson.loads(value)
    assert key == str(env.event_id).encode()
    assert record["tenant"] == "acme"
    assert record["received_at"] == "2026-11-25T11:00:01.000005Z"
    assert record["occurred_at"] == "2026-11-25T10:00:00.000000Z"
    assert record["payload"] == {"order_id": "A-1", "amount": 12.5, "currency": "EUR"}
    keyed = EventEnvelope.model_validate_json(orjson.dumps(make_event(key="customer-7")))
    assert stamp(keyed, tenant="acme", received_at=received)[0] == b"customer-7"


def test_to_record_is_what_stamp_publishes_and_kafka_key_prefers_key():
    env = EventEnvelope.model_validate_json(orjson.dumps(make_event(key="k-1")))
    received = datetime(2026, 11, 25, 11, 0, 1, tzinfo=UTC)
    record = to_record(env, tenant="acme", received_at=received)
    assert stamp(env, tenant="acme", received_at=received) == (b"k-1", orjson.dumps(record))
    assert kafka_key(env) == b"k-1"
    assert set(record) == {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "source",
        "key",
        "payload",
        "tenant",
        "received_at",
    }
