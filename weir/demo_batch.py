"""The batch half of `weir demo`: a second late event lands in the same past day as the first (so that day's
partition now holds two small files), then `weir compact` and `weir sweep` run over the demo's lake as a user
would run them, and their reports are printed as they come; last, how to open Airflow."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from weir.exceptions import StackError
from weir.stack.lake import read_rows

Say = Callable[[str], None]


def _late_event(now: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "page.viewed",
        "schema_version": 1,
        "occurred_at": (now - timedelta(days=3)).isoformat(),
        "source": "demo",
        "payload": {"url": "/products/late", "referrer": "email"},
    }


def post_late_event(say: Say, gateway_url: str, key: str, lake: str, now: datetime, timeout_s: float) -> None:
    """Post one more event of three days ago and wait until the stream has it in silver."""
    event = _late_event(now)
    with httpx.Client(base_url=gateway_url, headers={"X-API-Key": key}, timeout=30) as client:
        r = client.post("/v1/events", json=event)
    if r.status_code != 202:
        raise StackError(f"the gateway answered {r.status_code} to the demo's late event: {r.text}")
    day = event["occurred_at"][:10]
    say(f"\n== one more late event of {day}: that day's silver partition now gets a second small file")
    deadline = time.monotonic() + timeout_s
    while not any(row["event_id"] == event["event_id"] for row in read_rows(f"{lake}/silver/events", ["event_id"])):
        if time.monotonic() > deadline:
            raise StackError(f"the late event {event['event_id']} is not in silver after {timeout_s:.0f}s")
        time.sleep(1)
    say(f"  202  page.viewed      {event['event_id']}  in silver")


def _weir(say: Say, *args: str) -> int:
    """Run `weir <args>` as a user would (its own Spark session) and print its report, indented."""
    say(f"\n== weir {' '.join(args)}")
    proc = subprocess.run(
        [sys.executable, "-m", "weir", *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    for line in proc.stdout.rstrip().splitlines():
        say(f"  {line}")
    if proc.returncode not in (0, 1):  # 1 is a sweep's broken `fail` rule: its report says which
        for line in [line for line in proc.stderr.splitlines() if line.startswith("weir ")][-3:]:
            say(f"  {line}")
    return proc.returncode


def run_batch(say: Say, gateway_url: str, key: str, lake: str, now: datetime, timeout_s: float) -> None:
    post_late_event(say, gateway_url, key, lake, now, timeout_s)
    if _weir(say, "compact") != 0:
        raise StackError("`weir compact` failed on the demo's lake (its error is above)")
    code = _weir(say, "sweep")
    if code == 1:
        say("  (exit 1: a dataset rule of severity `fail` broke; the report above says which)")
    elif code != 0:
        raise StackError("`weir sweep` failed on the demo's lake (its error is above)")
    say("\n== Airflow (compaction, backfills and sweeps on a schedule)")
    say("  start it : .venv/bin/weir airflow up     (or `weir up --airflow`; it prints the UI's URL and login)")
    say("  backfill : the UI's Dags > weir_rebuild > Trigger > Backfill, or `airflow backfill create` (README.md)")
