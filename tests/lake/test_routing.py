"""Routing through the contracts: failed rules, outcome, silver / quarantine rows and failure messages."""

import datetime as dt
import uuid

import orjson
import pytest

from lake.routing import route, to_failure_messages, to_quarantine, to_silver
from lake.transforms import mark_first, parse_events
from tests.streaming.support import contracts, kafka_rows, record

pytestmark = pytest.mark.integration


def ids():
    return {name: str(uuid.uuid4()) for name in ("clean", "warn", "quar", "both", "version", "other", "fail", "late")}


@pytest.fixture(scope="module")
def routed(spark):
    i = ids()
    values = [
        record(event_id=i["clean"], payload={"amount": 10, "note": "hi"}),
        record(event_id=i["warn"], payload={"amount": 10, "note": "  "}),
        record(event_id=i["quar"], payload={"amount": 5000}),
        record(event_id=i["both"], payload={"amount": "ten", "note": " x"}),
        record(event_id=i["version"], schema_version=3, payload={"amount": 1}),
        record(event_id=i["other"], event_type="some.thing", schema_version=7, payload={}),
        record(event_id=i["fail"], payload={"amount": 1, "flag": "poison"}),
        record(event_id=i["late"], occurred_at="2026-11-20T01:00:00+03:00", payload={"amount": 2}),
        record(event_id=i["clean"], received_at="2026-11-25T00:00:09.000000Z", payload={"amount": 99999}),
        b"\x00garbage",
    ]
    df = route(mark_first(parse_events(kafka_rows(spark, values))), contracts()).cache()
    yield i, df
    df.unpersist()


def test_each_event_names_every_rule_it_broke_and_gets_its_outcome(routed):
    i, df = routed
    rows = {r.record_id: r for r in df.collect() if r.is_first}
    rules = {name: [f.rule for f in rows[i[name]].failed_rules] for name in i}
    assert rules == {
        "clean": [],
        "warn": ["note-trimmed"],
        "quar": ["amount-in-range"],
        "both": ["schema.amount.type", "amount-in-range", "note-trimmed"],
        "version": ["envelope.schema_version"],
        "other": ["default.payload-not-empty"],
        "fail": ["no-poison"],
        "late": [],
    }
    outcome = {name: rows[i[name]].outcome for name in i}
    assert outcome == {
        "clean": "silver",
        "warn": "silver",
        "quar": "quarantine",
        "both": "quarantine",
        "version": "quarantine",
        "other": "silver",
        "fail": "quarantine",
        "late": "silver",
    }
    [garbage] = [r for r in rows.values() if r.record_id.startswith("kafka:")]
    assert garbage.outcome == "quarantine"
    assert [f.rule for f in garbage.failed_rules] == ["envelope.unparseable"]


def test_silver_holds_first_copies_with_their_warnings_and_dates_by_occurred_at(routed):
    i, df = routed
    silver = {r.event_id: r for r in to_silver(df).collect()}
    assert set(silver) == {i["clean"], i["warn"], i["other"], i["late"]}
    assert orjson.loads(silver[i["clean"]].payload) == {"amount": 10, "note": "hi"}  # not the later copy's
    assert [w.rule for w in silver[i["warn"]].dq_warnings] == ["note-trimmed"]
    assert silver[i["late"]].event_date == dt.date(2026, 11, 19)
    assert silver[i["clean"]].event_date == dt.date(2026, 11, 24)


def test_quarantine_keeps_the_failed_rules_and_an_id_for_every_record(routed):
    i, df = routed
    quarantine = {r.quarantine_id: r for r in to_quarantine(df).collect()}
    assert {i["quar"], i["both"], i["version"], i["fail"]} < set(quarantine)
    assert len(quarantine) == 5
    [garbage] = [r for qid, r in quarantine.items() if qid.startswith("kafka:")]
    assert garbage.raw == "\x00garbage"
    assert garbage.event_date == dt.date(2026, 11, 25)
    assert [(f.rule, f.severity) for f in quarantine[i["quar"]].failed_rules] == [("amount-in-range", "quarantine")]


def test_failure_messages_follow_the_contract_format(routed):
    i, df = routed
    messages = {m.key.decode(): orjson.loads(m.value) for m in to_failure_messages(df).collect()}
    failing = {i[n] for n in ("warn", "quar", "both", "version", "other", "fail")}
    assert failing < set(messages)
    assert len(messages) == len(failing) + 1
    warn = messages[i["warn"]]
    assert set(warn) == {
        "event_id",
        "event_type",
        "tenant",
        "stage",
        "failed_rules",
        "event",
        "detected_at",
        "raw",
    }
    assert warn["event_id"] == i["warn"]
    assert warn["event_type"] == "shop.order"
    assert warn["tenant"] == "acme"
    assert warn["stage"] == "stream"
    assert warn["raw"] is None
    assert warn["failed_rules"] == [
        {"rule": "note-trimmed", "severity": "warn", "message": warn["failed_rules"][0]["message"]}
    ]
    assert warn["event"]["payload"] == {"amount": 10, "note": "  "}
    assert warn["event"]["event_id"] == i["warn"]
    assert dt.datetime.fromisoformat(warn["detected_at"]).tzinfo is not None
    [garbage] = [m for k, m in messages.items() if k.startswith("kafka:")]
    assert garbage["event"] is None
    assert garbage["raw"] == "\x00garbage"
    assert garbage["event_id"] is None
