"""Ingest gateway benchmark: a real gateway process (`python -m weir gateway`, uvicorn) in front of a private local
Kafka broker (or `WEIR_KAFKA_BOOTSTRAP`), with, in the same run:

(a) batched ingest: 100 events of ~400 bytes per request, several closed-loop clients, events/s;
(b) single-event requests at a fixed open-loop offered rate (1,000 req/s): achieved rate, p50/p95/p99 latency
    from each request's scheduled send time (coordinated omission counted), errors;
(c) the ceiling: the raw confluent-kafka producer (same config as the gateway's: acks=all, idempotent) from
    this process, same event size; and the ratio batched / raw.

    .venv/bin/python bench/gateway.py [--quick] [--workers N] [--clients 8] [--seconds 15] [--rate 1000]

The load generator runs on the same machine as the gateway and the broker and competes with them for the CPU
(on the 2-core reference machine, all three share 2 cores). Targets (reported, never asserted): batched >= 50% of
raw and >= 50,000 events/s; single-event p99 <= 20 ms at 1,000 req/s.
Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/gateway.py` puts bench/ first on sys.path, where this file would shadow the `gateway` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx  # noqa: E402
import orjson  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

from bench import _load as load  # noqa: E402
from bench._kafka import free_port, start_broker  # noqa: E402
from ingest.admin import create_topics, wait_for_cluster  # noqa: E402
from ingest.producer import producer_config  # noqa: E402
from ingest.topics import EVENTS_TOPIC, default_topics  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import REPO_ROOT, Home  # noqa: E402
from weir.stack.procs import Service  # noqa: E402

EVENT_BYTES = 400
PER_REQUEST = 100
TARGET_BATCHED_EPS = 50_000
TARGET_BATCHED_RATIO = 0.5
TARGET_P99_MS = 20.0


def log(message: str) -> None:
    print(f"[bench/gateway {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def start_gateway(state: Path, bootstrap: str, workers: int) -> tuple[Service, str, int]:
    port = free_port()
    service = Service("bench-gateway", Home(state).ensure())
    argv = [sys.executable, "-m", "weir", "gateway", "--port", str(port)]
    help_text = subprocess.run([*argv[:4], "--help"], capture_output=True, text=True, check=False, cwd=REPO_ROOT).stdout
    if workers > 1:
        if "--workers" not in help_text:
            raise SystemExit("this gateway has no --workers option yet")
        argv += ["--workers", str(workers)]
    env = {
        "WEIR_HOME": str(state),
        "WEIR_KAFKA_BOOTSTRAP": bootstrap,
        "WEIR_API_KEYS": "bench:bench-key",
        "WEIR_GATEWAY_PORT": str(port),
        "WEIR_GATEWAY_WORKERS": str(workers),
    }
    os.environ.pop("WEIR_TENANTS_FILE", None)  # the bench tenant is unlimited
    service.start(argv, env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return service, url, port
        except httpx.HTTPError:
            pass
        if service.pid() is None:
            raise SystemExit(f"the gateway exited: {service.log_file.read_text()[-3000:]}")
        time.sleep(0.3)
    raise SystemExit(f"the gateway did not become ready: {service.log_file.read_text()[-3000:]}")


def cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in the process group `pgid` (the gateway and its
    workers: `Service` starts each in its own session)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (every process: /proc/stat, all CPUs, minus idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used during a phase, per wall-clock second, by the gateway, the broker, this process (the load
    generator) and everything else on the machine (other users: the noise)."""

    def __init__(self, gateway_pgid: int, broker_pgid: int | None) -> None:
        self.groups = {"gateway": gateway_pgid, "broker": broker_pgid}
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        out = {name: cpu_seconds(pgid) if pgid else 0.0 for name, pgid in self.groups.items()}
        out["load"] = time.process_time()
        out["machine"] = machine_cpu_seconds()
        return out

    def cores(self, seconds: float) -> dict[str, float]:
        end = self._sample()
        used = {name: (end[name] - self.start[name]) / seconds for name in end}
        used["other"] = max(0.0, used.pop("machine") - used["gateway"] - used["broker"] - used["load"])
        return {f"{name}_cpu_cores": round(value, 2) for name, value in used.items()}


def raw_producer(bootstrap: str, seconds: float) -> dict[str, Any]:
    """Events/s of one confluent-kafka producer in this process, same config as the gateway's, acks awaited."""
    values = [orjson.dumps(load.make_event(EVENT_BYTES)) for _ in range(1000)]
    keys = [f"customer-{i}".encode() for i in range(1000)]
    producer = Producer({**producer_config(bootstrap, client_id="weir-bench-raw", delivery_timeout_ms=30_000)})
    failed = [0]

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failed[0] += 1

    sent = 0
    machine, own = machine_cpu_seconds(), time.process_time()
    started = time.perf_counter()
    stop_at = started + seconds
    while time.perf_counter() < stop_at:
        for _ in range(1000):
            i = sent % 1000
            try:
                producer.produce(EVENTS_TOPIC, value=values[i], key=keys[i], on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.01)
                continue
            sent += 1
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - started
    own = time.process_time() - own
    others = machine_cpu_seconds() - machine - own  # the broker and everything else on the machine
    acked = sent - left - failed[0]
    return {
        "events": acked,
        "seconds": round(elapsed, 2),
        "events_per_s": round(acked / elapsed),
        "failed": failed[0],
        "producer_cpu_cores": round(own / elapsed, 2),
        "broker_and_other_cpu_cores": round(others / elapsed, 2),
    }


def batch_endpoint_exists(url: str) -> bool:
    body = orjson.dumps([load.make_event(EVENT_BYTES)])
    response = httpx.post(f"{url}/v1/events/batch", content=body, headers=load.HEADERS_JSON, timeout=30)
    return response.status_code not in (404, 405)


def batched(port: int, clients: int, seconds: float, pgid: int, broker_pgid: int | None) -> dict[str, Any]:
    bodies = load.batch_bodies(64, PER_REQUEST, EVENT_BYTES)
    load.run_batched("127.0.0.1", port, "/v1/events/batch", bodies, PER_REQUEST, clients, min(3.0, seconds))
    meter = CpuMeter(pgid, broker_pgid)
    result = load.run_batched("127.0.0.1", port, "/v1/events/batch", bodies, PER_REQUEST, clients, seconds)
    cpu = meter.cores(result.seconds)
    return {
        "clients": clients,
        "events_per_request": PER_REQUEST,
        "request_bytes": len(bodies[0]),
        "requests": result.requests,
        "events": result.events,
        "seconds": round(result.seconds, 2),
        "events_per_s": round(result.events / result.seconds),
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "gateway_us_per_event": round(cpu["gateway_cpu_cores"] * result.seconds / max(1, result.events) * 1e6, 1),
        **cpu,
    }


def single(port: int, rate: float, seconds: float, threads: int, pgid: int, broker_pgid: int | None) -> dict[str, Any]:
    bodies = [orjson.dumps(load.make_event(EVENT_BYTES)) for _ in range(int(rate * seconds))]
    load.run_open_loop("127.0.0.1", port, "/v1/events", bodies[:500], 200, 1.0, threads)  # warm-up
    meter = CpuMeter(pgid, broker_pgid)
    result = load.run_open_loop("127.0.0.1", port, "/v1/events", bodies, rate, seconds, threads)
    cpu = meter.cores(result.seconds)
    ms = [x * 1000 for x in result.latencies_s]
    ok = result.completed - result.errors
    return {
        "offered_rps": rate,
        "scheduled": result.scheduled,
        "completed": result.completed,
        "achieved_rps": round(ok / result.seconds, 1),
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "p50_ms": round(load.percentile(ms, 0.50), 2),
        "p95_ms": round(load.percentile(ms, 0.95), 2),
        "p99_ms": round(load.percentile(ms, 0.99), 2),
        "max_ms": round(ms[-1], 2) if ms else None,
        "connections": threads,
        **cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (seconds, not minutes)")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent batched clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each measured phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="open-loop single-event offered req/s")
    parser.add_argument("--connections", type=int, default=64, help="open-loop client connections")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds

    state = Path(tempfile.mkdtemp(prefix="weir-bench-gateway-"))
    home = Home.from_env().ensure()
    if not os.environ.get("WEIR_KAFKA_BOOTSTRAP"):
        fetch("kafka", home)
    broker = start_broker(state / "kafka", home.jars, log)
    gateway: Service | None = None
    try:
        bootstrap = broker.bootstrap if broker else os.environ["WEIR_KAFKA_BOOTSTRAP"]
        wait_for_cluster(bootstrap, timeout_s=60)
        create_topics(bootstrap, default_topics())

        log(f"(c) raw confluent-kafka producer, {seconds:g} s")
        raw = raw_producer(bootstrap, seconds)
        log(f"    {raw}")

        gateway, url, port = start_gateway(state / "gateway", bootstrap, args.workers)
        log(f"gateway ready at {url} ({args.workers} worker(s))")

        pgid = gateway.pid() or 0
        broker_pgid = broker.service.pid() if broker else None
        batch: dict[str, Any] | None = None
        if batch_endpoint_exists(url):
            log(f"(a) batched: {args.clients} clients x {PER_REQUEST} events/request, {seconds:g} s")
            batch = batched(port, args.clients, seconds, pgid, broker_pgid)
            log(f"    {batch}")
        else:
            log("(a) skipped: POST /v1/events/batch does not exist yet")

        log(f"(b) single events, open loop at {args.rate:g} req/s, {seconds:g} s")
        one = single(port, args.rate, seconds, args.connections, pgid, broker_pgid)
        log(f"    {one}")
    finally:
        if gateway is not None:
            gateway.stop(timeout_s=20)
        if broker is not None:
            broker.stop()
        shutil.rmtree(state, ignore_errors=True)  # the broker's log segments: hundreds of MB per run

    ratio = batch["events_per_s"] / raw["events_per_s"] if batch and raw["events_per_s"] else None
    figures = {
        "bench": "gateway",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": args.quick,
        "gateway_workers": args.workers,
        "event_bytes": EVENT_BYTES,
        "raw": raw,
        "batched": batch,
        "batched_over_raw": round(ratio, 3) if ratio is not None else None,
        "single": one,
        "targets": {
            "batched_events_per_s>=50000": batch["events_per_s"] >= TARGET_BATCHED_EPS if batch else None,
            "batched_over_raw>=0.5": ratio >= TARGET_BATCHED_RATIO if ratio is not None else None,
            "single_p99_ms<=20": one["p99_ms"] <= TARGET_P99_MS,
        },
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
