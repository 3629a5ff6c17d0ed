"""`weir demo`: start the local stack, post a handful of events (valid ones, one sent twice, one breaking a
warn rule, two breaking the stream's blocking rules, three the gateway refuses) plus one record written straight
to Kafka that is not JSON; wait until each is where it belongs; print what happened, read back from the Delta
tables and from the DQ-failure topic; then compact and sweep the demo's lake (`weir.demo_batch`)."""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from ingest.topics import DQ_FAILURES_TOPIC, EVENTS_TOPIC
from weir.demo_batch import run_batch
from weir.exceptions import StackError
from weir.stack.lake import read_rows
from weir.stack.local import Stack

Say = Callable[[str], None]


@dataclass(frozen=True)
class Planned:
    """A demo event and where it should end up: `silver`, `quarantine` or `rejected` (by the gateway)."""

    event: dict[str, Any]
    expect: str
    why: str


def _event(now: datetime, event_type: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": now.isoformat(),
        "source": "demo",
        "payload": payload,
        **extra,
    }


def demo_events(now: datetime) -> list[Planned]:
    planned: list[Planned] = []
    for i in range(8):
        if i % 2 == 0:
            payload: dict[str, Any] = {"order_id": f"A-{1000 + i}", "amount": 10.5 * (i + 1), "currency": "EUR"}
            event = _event(now - timedelta(minutes=i), "order.created", payload, key=f"customer-{i % 3}")
        else:
            event = _event(now - timedelta(minutes=i), "page.viewed", {"url": f"/products/{i}", "referrer": "search"})
        planned.append(Planned(event, "silver", "valid"))
    # A late event: it happened three days ago and lands in that day's partition.
    planned[-1].event["occurred_at"] = (now - timedelta(days=3)).isoformat()
    order = {"order_id": "A-2001", "amount": 99.0, "currency": "EUR", "customer_email": "nobody-at-example"}
    payment = {"payment_id": "pay-1", "order_id": "A-1000", "amount": 10.5, "currency": "EUR"}
    planned += [
        Planned(_event(now, "order.created", order), "silver", "breaks a warn rule: kept, and reported"),
        Planned(_event(now, "payment.captured", payment), "silver", "valid"),
        Planned(
            _event(now, "payment.captured", {**payment, "payment_id": "pay-2", "amount": -5, "currency": "EURO"}),
            "quarantine",
            "breaks two quarantine rules (checked in the stream only)",
        ),
        Planned(
            _event(now, "payment.captured", {**payment, "payment_id": "pay-3"}, schema_version=9),
            "quarantine",
            "a schema_version its contract does not know",
        ),
    ]
    base = {"event_type": "order.created", "occurred_at": now.isoformat(), "payload": {"order_id": "X"}}
    planned += [
        Planned(dict(base), "rejected", "no event_id"),
        Planned(
            {**base, "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-25T10:00:00"},
            "rejected",
            "occurred_at without an offset",
        ),
        Planned(
            {**base, "event_id": str(uuid.uuid4()), "event_type": "Order Created"},
            "rejected",
            "event_type not lowercase",
        ),
    ]
    return planned


def _high_watermarks(bootstrap: str, topic: str) -> list[TopicPartition]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"weir-demo-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return [
            TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
            for p in partitions
        ]
    finally:
        consumer.close()


def _write_garbage(bootstrap: str) -> str:
    """A record that bypassed the gateway and is not JSON; returns its quarantine id (its Kafka coordinates)."""
    where: list[str] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is None:
            where.append(f"kafka:{msg.topic()}/{msg.partition()}/{msg.offset()}")

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(
        EVENTS_TOPIC, value=b"\x00 not json, from a producer that bypassed the gateway", on_delivery=delivered
    )
    producer.flush(10)
    if not where:
        raise StackError("could not write the demo's raw record to Kafka")
    return where[0]


def _read_failures(bootstrap: str, start: list[TopicPartition], keys: set[str], timeout_s: float) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"weir-demo-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    consumer.assign(start)
    found: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and set(found) != keys:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            key, value = (msg.key() or b"").decode(), msg.value()
            if key in keys and value is not None:
                found.setdefault(key, orjson.loads(value))
    finally:
        consumer.close()
    return list(found.values())


def _wait(lake: str, silver: set[str], quarantine: set[str], timeout_s: float) -> tuple[list[Any], list[Any], float]:
    started = time.monotonic()
    s_rows: list[Any] = []
    q_rows: list[Any] = []
    while time.monotonic() - started < timeout_s:
        s_rows = [r for r in read_rows(f"{lake}/silver/events") if r["event_id"] in silver]
        q_rows = [r for r in read_rows(f"{lake}/quarantine/events") if r["quarantine_id"] in quarantine]
        if len(s_rows) == len(silver) and len(q_rows) == len(quarantine):
            return s_rows, q_rows, time.monotonic() - started
        time.sleep(1)
    raise StackError(
        f"after {timeout_s:.0f}s {len(s_rows)}/{len(silver)} events are in silver and "
        f"{len(q_rows)}/{len(quarantine)} in quarantine"
    )


def count_bronze(lake: str, event_ids: set[str], raw_ids: set[str]) -> int:
    """Bronze rows of this run: every copy of the accepted events (a retry is a row of its own) and the raw
    records, which have no event_id and are known by their Kafka coordinates (`kafka:<topic>/<partition>/<offset>`,
    the id quarantine gives them)."""
    rows = read_rows(f"{lake}/bronze/events", ["event_id", "kafka_topic", "kafka_partition", "kafka_offset"])
    return sum(
        1
        for r in rows
        if r["event_id"] in event_ids
        or f"kafka:{r['kafka_topic']}/{r['kafka_partition']}/{r['kafka_offset']}" in raw_ids
    )


def wait_bronze(lake: str, event_ids: set[str], raw_ids: set[str], want: int, timeout_s: float) -> int:
    """The bronze count of this run once it reaches `want` (a late retry's micro-batch may commit after the
    rows silver and quarantine were waited for); StackError with the count read when it does not in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = count_bronze(lake, event_ids, raw_ids)
        if found >= want:
            return found
        if time.monotonic() >= deadline:
            raise StackError(f"after {timeout_s:.0f}s {found}/{want} records of this run are in bronze")
        time.sleep(1)


def run(say: Say = print, timeout_s: float = 180.0) -> int:
    stack = Stack.from_env()
    say("== starting the local stack")
    stack.up(say)
    key = stack.api_keys().split(",")[0].partition(":")[2]
    now = datetime.now(UTC)
    planned = demo_events(now)
    failures_from = _high_watermarks(stack.bootstrap, DQ_FAILURES_TOPIC)
    say(f"\n== posting {len(planned)} events (one valid event twice) to {stack.gateway_url}/v1/events")
    accepted: list[str] = []
    rejected = 0
    with httpx.Client(base_url=stack.gateway_url, headers={"X-API-Key": key}, timeout=30) as client:
        for p in [*planned, planned[0]]:
            r = client.post("/v1/events", json=p.event)
            want = 422 if p.expect == "rejected" else 202
            if r.status_code != want:
                raise StackError(f"the gateway answered {r.status_code} (expected {want}) to a demo event: {r.text}")
            if want == 202:
                accepted.append(p.event["event_id"])
                say(f"  202  {p.event['event_type']:<16} {p.event['event_id']}  {p.why}")
            else:
                rejected += 1
                detail = "; ".join(f"{e['path']}: {e['message']}" for e in r.json().get("errors", []))
                say(f"  422  ({p.why}) {detail}")
    garbage = _write_garbage(stack.bootstrap)
    say(f"  and one record written straight to {EVENTS_TOPIC}, not JSON ({garbage})")

    lake = stack.home.lake_uri
    silver = {p.event["event_id"] for p in planned if p.expect == "silver"}
    quarantine = {p.event["event_id"] for p in planned if p.expect == "quarantine"} | {garbage}
    say(f"\n== waiting for {len(silver)} events in silver and {len(quarantine)} in quarantine (streaming job)")
    s_rows, q_rows, waited = _wait(lake, silver, quarantine, timeout_s)
    say(f"  all there after {waited:.1f}s")
    failing = {r["event_id"] for r in s_rows if r["dq_warnings"]} | {r["quarantine_id"] for r in q_rows}
    failures = _read_failures(stack.bootstrap, failures_from, failing, timeout_s=30)
    bronze = wait_bronze(lake, set(accepted), {garbage}, want=len(accepted) + 1, timeout_s=timeout_s)
    _summary(say, stack, lake, posted=len(accepted), rejected=rejected, bronze=bronze)
    _tables(say, s_rows, q_rows, failures)
    run_batch(say, stack.gateway_url, key, lake, now, timeout_s)
    _where(say, stack, lake)
    return 0


def _rules(failed: list[dict[str, Any]]) -> str:
    return "; ".join(f"{f['rule']} ({f['severity']}): {f['message']}" for f in failed)


def _summary(say: Say, stack: Stack, lake: str, *, posted: int, rejected: int, bronze: int) -> None:
    say("\n== what happened")
    say(f"  gateway    : {posted} accepted (202, acknowledged by Kafka), {rejected} rejected (422)")
    say(f"  bronze     : {bronze} rows for this run (every record, the duplicate and the raw one included)")


def _tables(say: Say, s_rows: list[Any], q_rows: list[Any], failures: list[Any]) -> None:
    say(f"  silver     : {len(s_rows)} rows for this run (one per event_id: the duplicate was dropped)")
    for r in sorted(s_rows, key=lambda r: (r["event_date"], r["event_type"])):
        warned = f"  warnings: {_rules(r['dq_warnings'])}" if r["dq_warnings"] else ""
        say(f"    {r['event_date']}  {r['event_type']:<16} {r['event_id']}  tenant={r['tenant']}{warned}")
    say(f"  quarantine : {len(q_rows)} rows for this run, with their reasons")
    for r in sorted(q_rows, key=lambda r: r["quarantine_id"]):
        say(f"    {r['event_type'] or '-':<16} {r['quarantine_id']}  {_rules(r['failed_rules'])}")
    say(f"  failures   : {len(failures)} messages read back from {DQ_FAILURES_TOPIC} (warn and quarantine alike)")
    for f in sorted(failures, key=lambda f: f["detected_at"]):
        rules = ", ".join(r["rule"] for r in f["failed_rules"])
        say(f"    {f['detected_at']}  {f['event_type'] or '-':<16} {f['event_id'] or '(no usable event)'}  {rules}")


def _where(say: Say, stack: Stack, lake: str) -> None:
    say("\n== where things are")
    say(f"  tables  : {lake}/{{bronze,silver,quarantine}}/events  (Delta Lake: Parquet + _delta_log)")
    say(
        '  query   : .venv/bin/python -c "from deltalake import DeltaTable, QueryBuilder; '  # noqa: S608
        f"print(QueryBuilder().register('silver', DeltaTable('{lake}/silver/events'))"
        ".execute('SELECT event_date, event_type, event_id, payload FROM silver').read_all())\""
    )
    say(f"  failures: .venv/bin/weir failures tail --from-beginning   (topic {DQ_FAILURES_TOPIC})")
    say(f"  gateway : {stack.gateway_url}/docs   metrics {stack.gateway_url}/metrics")
    say(f"  stream  : metrics http://127.0.0.1:{stack.metrics_port}/metrics   log {stack.stream.log_file}")
    say(f"  kafka   : {stack.bootstrap}  topics {EVENTS_TOPIC}, {DQ_FAILURES_TOPIC}")
    say("\nThe stack is still running. Stop it with `make down` (or `.venv/bin/weir down`).")
