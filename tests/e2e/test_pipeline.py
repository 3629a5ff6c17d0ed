"""The whole pipeline as a user runs it: `weir up` (real gateway and streaming processes) on the session
broker, events POSTed over HTTP, the Delta tables read back with Spark and with the `deltalake` package."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, make_event
from weir.stack.lake import column
from weir.stack.paths import REPO_ROOT

pytestmark = pytest.mark.e2e


def weir(env, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "weir", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, jars_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("weir-home")
    (home / "jars").symlink_to(jars_home.jars)
    env = {
        **os.environ,
        "WEIR_HOME": str(home),
        "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WEIR_GATEWAY_PORT": str(free_port()),
        "WEIR_STREAM_METRICS_PORT": str(free_port()),
        "WEIR_TRIGGER_SECONDS": "1",
        "WEIR_SPARK_DRIVER_MEMORY": "1g",
    }
    env.pop("WEIR_API_KEYS", None)
    up = weir(env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    yield env, home, up.stdout
    down = weir(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr


def wait_for_silver(lake: Path, wanted: set[str], timeout_s: float = 180) -> list[str]:
    deadline = time.monotonic() + timeout_s
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [i for i in column(str(lake / "silver/events"), "event_id") if i in wanted]
        if set(found) == wanted:
            return found
        time.sleep(1)
    raise AssertionError(f"{len(set(found))}/{len(wanted)} events reached silver in {timeout_s}s")


def test_n_events_posted_are_in_the_tables_exactly_once(stack, spark):
    env, home, up_output = stack
    key = (home / "api-key").read_text().strip().partition(":")[2]
    assert key in up_output  # `weir up` prints the demo tenant's key
    url = f"http://127.0.0.1:{env['WEIR_GATEWAY_PORT']}"
    events = [make_event(event_type=f"e2e.type{i % 3}") for i in range(60)]
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        for event in events:
            assert client.post("/v1/events", json=event).status_code == 202
        for event in events[:10]:  # a client retry: the same events again
            assert client.post("/v1/events", json=event).status_code == 202
    wanted = {e["event_id"] for e in events}
    lake = home / "lake"

    found = wait_for_silver(lake, wanted)
    assert sorted(found) == sorted(wanted)  # deltalake, an independent reader: each id exactly once

    silver = spark.read.format("delta").load(str(lake / "silver/events"))
    rows = silver.where(silver.event_id.isin(list(wanted))).select("event_id", "tenant", "event_type").collect()
    assert sorted(r.event_id for r in rows) == sorted(wanted)
    assert {r.tenant for r in rows} == {"demo"}
    bronze = spark.read.format("delta").load(str(lake / "bronze/events"))
    assert bronze.where(bronze.event_id.isin(list(wanted))).count() == 70  # as received, retries included

    metrics = httpx.get(f"http://127.0.0.1:{env['WEIR_STREAM_METRICS_PORT']}/metrics").text
    assert "weir_stream_batches_total" in metrics


def test_status_reports_the_running_services(stack):
    env, home, _ = stack
    status = json.loads(weir(env, "status", "--json").stdout)
    assert status["gateway"].startswith("running")
    assert status["stream"].startswith("running")
    assert "kafka" not in status  # an external cluster: nothing started, nothing to report
    assert status["lake"] == str(home / "lake")


def test_demo_prints_what_happened(stack):
    env, home, _ = stack
    demo = weir(env, "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "9 accepted (202" in out
    assert "3 rejected (422)" in out
    assert "silver  : 8 rows for this run" in out
    assert str(home / "lake") in out
    assert "make down" in out


def test_bad_input_to_the_cli_is_a_clear_error(stack):
    env, _, _ = stack
    bad = weir({**env, "WEIR_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}, "topics", "create", "--timeout", "3")
    assert bad.returncode == 1
    assert "no Kafka answered" in bad.stderr
    assert "Traceback" not in bad.stderr
