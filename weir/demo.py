"""`weir demo`: start the local stack, post a handful of events (some invalid, one sent twice), wait until
the valid ones are in `silver/events`, and print what happened, read back from the Delta tables."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from weir.exceptions import StackError
from weir.stack.lake import column, read_rows
from weir.stack.local import Stack

Say = Callable[[str], None]


def demo_events(now: datetime) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """(valid events, [(why it is invalid, event)])."""
    valid: list[dict[str, Any]] = []
    for i in range(8):
        kind = "order.created" if i % 2 == 0 else "page.viewed"
        payload: dict[str, Any] = (
            {"order_id": f"A-{1000 + i}", "amount": 10.5 * (i + 1), "currency": "EUR"}
            if kind == "order.created"
            else {"url": f"/products/{i}", "referrer": "search"}
        )
        valid.append(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": kind,
                "schema_version": 1,
                "occurred_at": (now - timedelta(minutes=i)).isoformat(),
                "source": "demo",
                "key": f"customer-{i % 3}",
                "payload": payload,
            }
        )
    # A late event: it happened three days ago and lands in that day's partition.
    valid[-1]["occurred_at"] = (now - timedelta(days=3)).isoformat()
    base = {"event_type": "order.created", "occurred_at": now.isoformat(), "payload": {"order_id": "X"}}
    invalid = [
        ("no event_id", dict(base)),
        (
            "occurred_at without an offset",
            {**base, "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-25T10:00:00"},
        ),
        ("event_type not lowercase", {**base, "event_id": str(uuid.uuid4()), "event_type": "Order Created"}),
    ]
    return valid, invalid


def silver_ids(lake: str, ids: set[str]) -> set[str]:
    return {i for i in column(f"{lake}/silver/events", "event_id") if i in ids}


def run(say: Say = print, timeout_s: float = 180.0) -> int:
    stack = Stack.from_env()
    say("== starting the local stack")
    stack.up(say)
    key = stack.api_keys().split(",")[0].partition(":")[2]
    now = datetime.now(UTC)
    valid, invalid = demo_events(now)
    say(
        f"\n== posting {len(valid)} valid events (one of them twice) and {len(invalid)} invalid ones "
        f"to {stack.gateway_url}/v1/events"
    )
    headers = {"X-API-Key": key}
    accepted: list[str] = []
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        for event in [*valid, valid[0]]:
            r = client.post("/v1/events", json=event)
            if r.status_code != 202:
                raise StackError(f"the gateway answered {r.status_code} to a valid event: {r.text}")
            accepted.append(event["event_id"])
            say(f"  202  {event['event_type']:<14} {event['event_id']}")
        for why, event in invalid:
            r = client.post("/v1/events", json=event)
            errors = r.json().get("errors", [])
            detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
            say(f"  {r.status_code}  ({why}) {detail}")
    wanted = set(accepted)
    lake = stack.home.lake_uri
    say(f"\n== waiting for {len(wanted)} distinct events to reach silver (streaming job, Delta Lake)")
    deadline = time.monotonic() + timeout_s
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = silver_ids(lake, wanted)
        if found == wanted:
            break
        time.sleep(1)
    waited = timeout_s - (deadline - time.monotonic())
    if found != wanted:
        raise StackError(
            f"after {timeout_s:.0f}s only {len(found)}/{len(wanted)} events are in silver; see {stack.stream.log_file}"
        )
    say(f"  all {len(wanted)} in silver after {waited:.1f}s")
    _summary(say, stack, lake, wanted, posted=len(accepted), rejected=len(invalid))
    return 0


def _summary(say: Say, stack: Stack, lake: str, ids: set[str], *, posted: int, rejected: int) -> None:
    rows = [r for r in read_rows(f"{lake}/silver/events") if r["event_id"] in ids]
    bronze_rows = [i for i in column(f"{lake}/bronze/events", "event_id") if i in ids]
    say("\n== what happened")
    say(f"  gateway : {posted} accepted (202, acknowledged by Kafka), {rejected} rejected (422)")
    say(f"  bronze  : {len(bronze_rows)} rows for this run (every accepted record, the duplicate included)")
    say(f"  silver  : {len(rows)} rows for this run (one per event_id: the duplicate was dropped)")
    for r in sorted(rows, key=lambda r: (r["event_date"], r["event_type"])):
        say(f"    {r['event_date']}  {r['event_type']:<14} {r['event_id']}  tenant={r['tenant']}  {r['payload']}")
    say("\n== where things are")
    say(f"  tables  : {lake}/bronze/events  {lake}/silver/events  (Delta Lake: Parquet + _delta_log)")
    say(
        '  query   : .venv/bin/python -c "from deltalake import DeltaTable, QueryBuilder; '  # noqa: S608
        f"print(QueryBuilder().register('silver', DeltaTable('{lake}/silver/events'))"
        ".execute('SELECT event_date, event_type, event_id, payload FROM silver').read_all())\""
    )
    say(f"  gateway : {stack.gateway_url}/docs   metrics {stack.gateway_url}/metrics")
    say(f"  stream  : metrics http://127.0.0.1:{stack.metrics_port}/metrics   log {stack.stream.log_file}")
    say(f"  kafka   : {stack.bootstrap}  topic weir.events.v1")
    say("\nThe stack is still running. Stop it with `make down` (or `.venv/bin/weir down`).")
