"""Failure records (decode, filter, dedupe memory) and `FailureSubscriber` against the session broker."""

import json
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer
from pydantic import ValidationError

from ingest.admin import create_topics
from ingest.exceptions import InvalidFailureFilter, InvalidFailureRecord, TopicNotFound
from ingest.failures import SEVERITY_ORDER, FailureFilter, FailureRecord, FailureSubscriber, RecentIds, decode
from ingest.topics import TopicSpec
from quality import Severity
from tests.support import make_event


def failure_message(
    *,
    event_type: str | None = "order.created",
    tenant: str | None = "acme",
    rules: tuple[tuple[str, str], ...] = (("amount-positive", "quarantine"),),
    stage: str = "stream",
    event_id: str | None = None,
    raw: str | None = None,
) -> dict[str, Any]:
    """A failure message as the streaming job publishes it (CONTRACT.md)."""
    event = None if raw is not None else make_event(event_type=event_type, tenant=tenant)
    if event is not None and event_id is not None:
        event["event_id"] = event_id
    msg: dict[str, Any] = {
        "event_id": event["event_id"] if event is not None else event_id,
        "event_type": event_type,
        "tenant": tenant,
        "stage": stage,
        "failed_rules": [{"rule": r, "severity": s, "message": f"{r} is broken"} for r, s in rules],
        "event": event,
        "detected_at": "2026-11-25T10:00:00.123456Z",
    }
    if raw is not None:
        msg["raw"] = raw
    return msg


def new_topic(bootstrap: str, partitions: int = 2) -> str:
    name = f"weir.dq-failures.test-{uuid.uuid4().hex[:12]}"
    create_topics(bootstrap, [TopicSpec(name, partitions)])
    return name


def produce(producer: Producer, topic: str, *messages: dict[str, Any] | bytes, partition: int | None = None) -> None:
    """Publish and wait for the acks. The key is the event_id, else a `kafka:` position (here derived from the
    raw text, so that the same unparseable record published twice has the same key, as in a redelivery)."""
    for msg in messages:
        if isinstance(msg, bytes):
            key, value = "kafka:weir.events.v1/0/0", msg
        else:
            position = f"kafka:weir.events.v1/0/{zlib.crc32((msg.get('raw') or '').encode())}"
            key, value = msg["event_id"] or position, json.dumps(msg).encode()
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, key=key, value=value, **extra)
    assert producer.flush(10) == 0


# -- decode -----------------------------------------------------------------------------------------------


def test_decode_reads_a_contract_message_back_to_its_wire_format():
    msg = failure_message(rules=(("amount-positive", "quarantine"), ("currency-known", "warn")))
    record = decode(json.dumps(msg).encode())
    assert record.event_id == msg["event_id"]
    assert [(r.rule, r.severity) for r in record.failed_rules] == [
        ("amount-positive", "quarantine"),
        ("currency-known", "warn"),
    ]
    assert record.as_message() == msg


def test_decode_normalises_detected_at_to_utc_and_ignores_unknown_fields():
    msg = failure_message() | {"detected_at": "2026-11-25T11:00:00+01:00", "future_field": [1]}
    record = decode(json.dumps(msg))
    assert record.as_message()["detected_at"] == "2026-11-25T10:00:00.000000Z"
    assert "future_field" not in record.as_message()


def test_decode_reads_an_unparseable_record_with_raw_and_no_event():
    msg = failure_message(raw="{not json", event_type=None, tenant="acme", rules=(("envelope.unparseable", "fail"),))
    record = decode(json.dumps(msg).encode())
    assert record.event is None
    assert record.event_id is None
    assert record.raw == "{not json"
    assert record.as_message() == msg


def test_a_record_is_frozen():
    record = decode(json.dumps(failure_message()))
    with pytest.raises(ValidationError):
        record.tenant = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        record.failed_rules[0].severity = "warn"  # type: ignore[misc]


def _without(key: str) -> dict[str, Any]:
    msg = failure_message()
    del msg[key]
    return msg


MALFORMED: list[tuple[str, bytes | None, str]] = [
    ("tombstone", None, "no value"),
    ("not json", b"{oops", "Invalid JSON"),
    ("not utf-8", b"\xff\xfe", "Invalid JSON"),
    ("not an object", b"[1, 2]", "object"),
    ("no stage", json.dumps(_without("stage")).encode(), "stage: Field required"),
    ("no detected_at", json.dumps(_without("detected_at")).encode(), "detected_at: Field required"),
    ("unknown stage", json.dumps(failure_message(stage="nightly")).encode(), "stage: Input should be"),
    ("unknown severity", json.dumps(failure_message(rules=(("r", "error"),))).encode(), "failed_rules.0.severity"),
    ("no failed rule", json.dumps(failure_message(rules=())).encode(), "only a backfill verdict may be"),
    ("naive detected_at", json.dumps(failure_message() | {"detected_at": "2026-11-25T10:00:00"}).encode(), "timezone"),
    ("event_id a number", json.dumps(failure_message() | {"event_id": 7}).encode(), "event_id: Input should be"),
    ("event and raw", json.dumps(failure_message() | {"raw": "x"}).encode(), "exactly one of `event`"),
    ("neither event nor raw", json.dumps(failure_message() | {"event": None}).encode(), "exactly one of `event`"),
]


def _sweep_message(**changes: Any) -> dict[str, Any]:
    msg = failure_message(stage="sweep", tenant=None, rules=(("order-id-unique", "fail"),)) | {"event": None}
    return msg | {"event_id": None, "table": "silver/events"} | changes


MALFORMED += [
    ("sweep without table", json.dumps(_sweep_message(table=None)).encode(), "has `table` and a failed rule"),
    ("sweep with an event", json.dumps(_sweep_message(event={"a": 1})).encode(), "has `table` and a failed rule"),
]


def test_a_sweep_s_dataset_rule_failure_has_no_event_and_names_its_table():
    record = decode(json.dumps(_sweep_message()))
    assert (record.stage, record.event_id, record.event, record.raw, record.table) == (
        "sweep",
        None,
        None,
        None,
        "silver/events",
    )
    assert record.as_message()["table"] == "silver/events"
    assert "raw" not in record.as_message()


def test_a_replay_verdict_that_an_event_passes_now_has_no_failed_rule():
    record = decode(json.dumps(failure_message(stage="backfill", rules=())))
    assert record.failed_rules == ()
    assert record.event is not None
    assert "table" not in record.as_message()


@pytest.mark.parametrize(("value", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_decode_names_what_is_wrong_with_a_malformed_message(value, expected):
    with pytest.raises(InvalidFailureRecord) as info:
        decode(value)
    assert expected in str(info.value)
    assert info.value.where is None


def test_the_wire_severities_are_the_quality_severities():
    assert set(SEVERITY_ORDER) == {s.value for s in Severity}


# -- filter and dedupe memory --------------------------------------------------------------------------------


def _record(**kwargs: Any) -> FailureRecord:
    return decode(json.dumps(failure_message(**kwargs)))


def test_filter_by_event_type_pattern_and_tenant():
    f = FailureFilter(event_types=["order.*", "refund.issued"], tenants=["acme"])
    assert f.matches(_record(event_type="order.created"))
    assert f.matches(_record(event_type="refund.issued"))
    assert not f.matches(_record(event_type="refund.issued.v2"))
    assert not f.matches(_record(event_type="order.created", tenant="globex"))
    assert not f.matches(_record(event_type=None, raw="garbage"))
    assert FailureFilter().matches(_record(event_type=None, tenant=None, raw="garbage"))


def test_filter_by_rule_matches_any_failed_rule_and_prefixes():
    both = _record(rules=(("amount-positive", "warn"), ("envelope.event_id", "fail")))
    assert FailureFilter(rules=["envelope.*"]).matches(both)
    assert FailureFilter(rules=["amount-positive"]).matches(both)
    assert not FailureFilter(rules=["amount"]).matches(both)
    assert not FailureFilter(rules=["envelope.*"]).matches(_record(rules=(("envelopes-x", "fail"),)))


def test_min_severity_applies_to_the_rule_that_matches_the_rule_filter():
    record = _record(rules=(("amount-positive", "warn"), ("envelope.event_id", "fail")))
    assert FailureFilter(min_severity="fail").matches(record)
    assert FailureFilter(rules=["envelope.*"], min_severity="quarantine").matches(record)
    assert not FailureFilter(rules=["amount-*"], min_severity="quarantine").matches(record)
    assert not FailureFilter(min_severity="quarantine").matches(_record(rules=(("a", "warn"),)))
    assert FailureFilter(min_severity="warn").matches(_record(rules=(("a", "warn"),)))


@pytest.mark.parametrize("kwargs", [{"min_severity": "error"}, {"rules": [""]}, {"event_types": ["ok", ""]}])
def test_a_bad_filter_is_refused_clearly(kwargs):
    with pytest.raises(InvalidFailureFilter):
        FailureFilter(**kwargs)


def test_recent_ids_forget_the_least_recently_seen_first():
    ids = RecentIds(2)
    assert ids.add("a")
    assert ids.add("b")
    assert not ids.add("a")  # seen again: now the most recent
    assert ids.add("c")  # evicts b, not a
    assert "a" in ids
    assert "b" not in ids
    assert len(ids) == 2
    with pytest.raises(InvalidFailureFilter):
        RecentIds(0)


# -- the subscriber on a real broker -------------------------------------------------------------------------


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    return new_topic(kafka_bootstrap)


@pytest.fixture
def producer(producer_factory: Callable[..., Producer]) -> Producer:
    return producer_factory()


def _ids(records: list[FailureRecord]) -> list[str | None]:
    return [r.event_id for r in records]


@pytest.mark.integration
def test_from_now_reads_only_what_is_published_after_entering(kafka_bootstrap, topic, producer):
    old, new1, new2 = failure_message(), failure_message(), failure_message()
    produce(producer, topic, old)
    with FailureSubscriber(kafka_bootstrap, topic=topic) as sub:
        produce(producer, topic, new1, new2)  # before the first poll: "now" is the moment of entering
        got = list(sub.records(timeout_s=5, max_records=3))
    assert sorted(_ids(got)) == sorted([new1["event_id"], new2["event_id"]])


@pytest.mark.integration
def test_from_beginning_reads_everything_in_partition_order(kafka_bootstrap, topic, producer):
    messages = [failure_message() for _ in range(5)]
    produce(producer, topic, *messages, partition=1)
    with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True) as sub:
        got = list(sub.records(timeout_s=3))
    assert _ids(got) == [m["event_id"] for m in messages]


@pytest.mark.integration
def test_filters_select_on_a_real_topic(kafka_bootstrap, topic, producer):
    envelope = failure_message(raw="}{", event_type=None, rules=(("envelope.unparseable", "fail"),))
    other_tenant = failure_message(tenant="globex")
    warn_only = failure_message(rules=(("currency-known", "warn"),))
    refund = failure_message(event_type="refund.issued", rules=(("amount-positive", "fail"),))
    produce(producer, topic, envelope, other_tenant, warn_only, refund)

    def read(**filters: Any) -> list[FailureRecord]:
        with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True, **filters) as sub:
            return list(sub.records(timeout_s=2))

    assert [r.raw for r in read(rules=["envelope.*"])] == ["}{"]
    selective = {"event_types": ["refund.*", "order.*"], "rules": ["amount-*"], "min_severity": "quarantine"}
    assert _ids(read(**selective, tenants=["acme"])) == [refund["event_id"]]


@pytest.mark.integration
def test_dedupe_drops_redelivered_failures(kafka_bootstrap, topic, producer):
    first = failure_message()
    again = failure_message(event_id=first["event_id"], stage="stream")
    unparseable = b'{"event_id": "x"'  # the same bad record redelivered: same kafka: key, no event_id
    raw = failure_message(raw=unparseable.decode(), event_type=None, rules=(("envelope.unparseable", "fail"),))
    produce(producer, topic, first, raw, again, partition=0)
    produce(producer, topic, raw, partition=0)  # the same kafka: key again
    with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True) as sub:
        got = list(sub.records(timeout_s=2))
        assert sub.duplicates == 2
    assert _ids(got) == [first["event_id"], None]
    with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True, dedupe=False) as sub:
        assert len(list(sub.records(timeout_s=2))) == 4


@pytest.mark.integration
def test_malformed_messages_are_skipped_counted_and_reported(kafka_bootstrap, topic, producer):
    good = failure_message()
    produce(producer, topic, b"not json", good, json.dumps({"stage": "stream"}).encode(), partition=1)
    seen: list[InvalidFailureRecord] = []
    with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True, on_malformed=seen.append) as sub:
        got = list(sub.records(timeout_s=2))
        assert sub.malformed == 2
    assert _ids(got) == [good["event_id"]]
    assert [e.where for e in seen] == [f"{topic}/1@0", f"{topic}/1@2"]
    assert "Invalid JSON" in str(seen[0])
    assert "failed_rules: Field required" in str(seen[1])

    raising = FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True, errors="raise")
    with raising as sub, pytest.raises(InvalidFailureRecord, match=f"{topic}/1@0: not a failure record"):
        list(sub.records(timeout_s=2))


@pytest.mark.integration
def test_a_group_commits_only_what_it_has_yielded(kafka_bootstrap, topic, producer):
    messages = [failure_message() for _ in range(4)]
    produce(producer, topic, *messages, partition=0)
    group = f"weir-tests-failures-{uuid.uuid4()}"
    with FailureSubscriber(kafka_bootstrap, topic=topic, from_beginning=True, group_id=group) as sub:
        assert _ids(list(sub.records(timeout_s=10, max_records=2))) == _ids_of(messages[:2])
    with FailureSubscriber(kafka_bootstrap, topic=topic, group_id=group) as sub:  # committed offsets win over "now"
        it = sub.records(timeout_s=10)
        assert next(it).event_id == messages[2]["event_id"]  # taken, but the caller never asks for the next
    with FailureSubscriber(kafka_bootstrap, topic=topic, group_id=group) as sub:
        assert _ids(list(sub.records(timeout_s=3))) == _ids_of(messages[2:])  # at-least-once: the 3rd again


@pytest.mark.integration
def test_a_new_group_starting_now_skips_the_backlog(kafka_bootstrap, topic, producer):
    produce(producer, topic, failure_message())
    late = failure_message()
    with FailureSubscriber(kafka_bootstrap, topic=topic, group_id=f"weir-tests-failures-{uuid.uuid4()}") as sub:
        produce(producer, topic, late)  # before the group's first assignment
        assert _ids(list(sub.records(timeout_s=5))) == [late["event_id"]]


def _ids_of(messages: list[dict[str, Any]]) -> list[str]:
    return [m["event_id"] for m in messages]


@pytest.mark.integration
def test_an_idle_subscription_stops_after_its_timeout(kafka_bootstrap, topic):
    with FailureSubscriber(kafka_bootstrap, topic=topic) as sub:
        started = time.monotonic()
        assert list(sub.records(timeout_s=1)) == []
        assert 0.9 <= time.monotonic() - started < 5


@pytest.mark.integration
def test_a_missing_topic_is_a_clear_error(kafka_bootstrap):
    with pytest.raises(TopicNotFound, match="does not exist"), FailureSubscriber(kafka_bootstrap, topic="weir.nope"):
        pass


def test_records_outside_the_context_manager_is_a_usage_error():
    with pytest.raises(RuntimeError, match="context manager"):
        next(FailureSubscriber("127.0.0.1:1").records())
