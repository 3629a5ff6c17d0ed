import uuid
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from ingest.envelope import EventEnvelope, envelope_error_list, fast_record, kafka_key, stamp, to_record, utc_text
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
        # What pydantic alone takes but RFC 3339 (the envelope's one pattern, the stream's too) does not.
        ("occurred_at", "2026-11-25T10:00Z", "occurred_at"),
        ("occurred_at", "2026-11-25T10:00:00+0100", "occurred_at"),
        ("occurred_at", "2026-11-25T10:00:00.1234567Z", "occurred_at"),
        ("occurred_at", "2026-11-25_10:00:00Z", "occurred_at"),
        ("occurred_at", "2026-11-25T10:00:00Z\n", "occurred_at"),
        ("event_type", "order.created\n", "event_type"),
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


def _model_record(item: dict[str, object], received: datetime) -> dict[str, object] | None:
    """What the pydantic path makes of `item`: its record, or None when the model refuses it."""
    try:
        env = EventEnvelope.model_validate_json(orjson.dumps(item))
    except ValidationError:
        return None
    try:
        return to_record(env, tenant="acme", received_at=received)
    except OverflowError:  # a valid offset that leaves the datetime range once in UTC: never fast
        return None


_STAMPS = [
    f"{year}-{day}T{time}{fraction}{offset}"
    for year in ("0001", "0999", "1000", "2026", "9999")
    for day in ("01-01", "02-29", "02-28", "04-31", "13-01")
    for time in ("00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00")
    for fraction in ("", ".1", ".123456")
    for offset in ("Z", "+00:00", "-00:00", "+23:59", "+24:00", "+01:60", "-12:30")
] + ["2026-11-25t10:00:00Z", "2026-11-25 10:00:00Z", "2026-11-25T10:00:00z", "2026-11-25T10:00:00.1234567Z"]
_IDS = [
    str(uuid.uuid4()),
    str(uuid.uuid4()).upper(),
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    uuid.uuid4().hex,
    "{" + str(uuid.uuid4()) + "}",
]
_OTHERS: list[dict[str, object]] = [
    {"schema_version": 0},
    {"schema_version": 1_000_000},
    {"schema_version": 1_000_001},
    {"schema_version": True},
    {"schema_version": 1.0},
    {"schema_version": None},
    {"source": None},
    {"source": "é" * 256},
    {"source": "x" * 257},
    {"source": 1},
    {"key": ""},
    {"key": "x" * 1024},
    {"key": "x" * 1025},
    {"payload": []},
    {"event_type": "a" * 128},
    {"event_type": "a" * 129},
    {"event_type": "a\n"},
    {"event_type": "Order"},
    {"tenant": "x"},
    {"payload": {"x": 1.5, "y": [1, {"z": None}], "big": 2**62}},
]


def test_the_fast_path_takes_only_what_the_model_accepts_and_makes_the_same_record():
    received = datetime(2026, 11, 25, 11, 0, 1, 5, tzinfo=UTC)
    base = make_event()
    items = [{**base, "occurred_at": s} for s in _STAMPS] + [{**base, "event_id": i} for i in _IDS]
    items += [{**base, **other} for other in _OTHERS]
    fast = 0
    for item in items:
        got = fast_record(orjson.loads(orjson.dumps(item)), tenant="acme", received_at=utc_text(received))
        if got is not None:
            fast += 1
            want = _model_record(item, received)
            assert want is not None, item
            assert orjson.dumps(got) == orjson.dumps(want), item
    assert fast > 100  # the common forms do take the fast path


def test_utc_text_writes_every_year_in_four_digits_as_rfc_3339_asks():
    assert utc_text(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05.000000Z"
    assert utc_text(datetime(1, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0001-01-02T03:04:05.000000Z"
    assert utc_text(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"
