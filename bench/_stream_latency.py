"""Phase (c) of bench/streaming.py: end-to-end latency from the gateway's 202 to the row being readable.

A real gateway process and the real streaming job as a process (`python -m weir stream`, 1-second trigger or
`WEIR_STREAM_PROFILE`, the 50-rule contracts); events are posted open-loop in small batches and the 202 time
of each is recorded (`time.time()`). When an event became readable is read from the tables' Delta logs: each commit's
`commitInfo.timestamp` and the `event_id`s of the Parquet files it adds; latency = commit time - 202 time."""

import http.client
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from bench._kafka import free_port
from bench._load import HEADERS_JSON, Connection, percentile
from bench._stream_throughput import files_per_partition
from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service

_COMMIT = re.compile(r"^\d{20}\.json$")


class DeltaLogWatcher:
    """event_id -> commit time (epoch seconds) of the commit that added it, read incrementally from a table's
    `_delta_log` (local path)."""

    def __init__(self, table: Path) -> None:
        self.table = table
        self.seen: set[str] = set()
        self.committed: dict[str, float] = {}
        self.commits = 0
        self.log: list[tuple[float, int]] = []  # (commit time, event ids it added), in commit order

    def exists(self) -> bool:
        return (self.table / "_delta_log" / ("0" * 20 + ".json")).is_file()

    def poll(self) -> int:
        """Read the commits not read yet; returns how many event ids they added."""
        log_dir = self.table / "_delta_log"
        if not log_dir.is_dir():
            return 0
        added = 0
        for path in sorted(p for p in log_dir.iterdir() if _COMMIT.match(p.name) and p.name not in self.seen):
            commit_ts: float | None = None
            files: list[str] = []
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                action = json.loads(line)
                if "commitInfo" in action:
                    commit_ts = action["commitInfo"]["timestamp"] / 1000.0
                elif "add" in action:
                    files.append(urllib.parse.unquote(action["add"]["path"]))
            if commit_ts is None:
                commit_ts = path.stat().st_mtime
            before = added
            for rel in files:
                ids = pq.read_table(self.table / rel, columns=["event_id"]).column("event_id").to_pylist()
                for event_id in ids:
                    if event_id is not None and event_id not in self.committed:
                        self.committed[event_id] = commit_ts
                        added += 1
            if files:
                self.log.append((commit_ts, added - before))
            self.seen.add(path.name)
            self.commits += 1
        return added


@dataclass
class Posted:
    """The 202 time of every accepted event, and what went wrong with the rest."""

    accepted_at: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    late_sends: int = 0  # requests sent more than 100 ms after their scheduled time (the poster fell behind)


def post_open_loop(port: int, batches: list[tuple[list[str], bytes]], interval_s: float, threads: int) -> Posted:
    """Batch i is due at start + i * interval_s whatever happened before (open loop); `threads` keep-alive
    connections take the next due batch as they become free."""
    out = Posted()
    lock = threading.Lock()
    counter = itertools.count()
    start = time.perf_counter() + 0.1

    def worker() -> None:
        conn = Connection("127.0.0.1", port)
        while (i := next(counter)) < len(batches):
            ids, body = batches[i]
            due = start + i * interval_s
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            late = -delay > 0.1
            try:
                status, _ = conn.post("/v1/events/batch", body, HEADERS_JSON)
            except (OSError, http.client.HTTPException):
                status = 0
            answered = time.time()
            with lock:
                out.requests += 1
                out.late_sends += late
                out.statuses[status] = out.statuses.get(status, 0) + 1
                if status == 202:  # a re-sent event keeps its first 202: it was readable from the first copy on
                    for event_id in ids:
                        out.accepted_at.setdefault(event_id, answered)
                else:
                    out.errors += 1
        conn.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out


def scrape(port: int) -> dict[str, float]:
    """The streaming job's Prometheus endpoint as {sample name with labels: value}."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                continue
    return samples


def start_stream(state: Path, env: dict[str, str]) -> Service:
    service = Service("bench-stream", Home(state).ensure())
    service.start([sys.executable, "-m", "weir", "stream"], env={"WEIR_HOME": str(state), **env}, cwd=REPO_ROOT)
    return service


def wait_until(what: str, check: Any, timeout_s: float, alive: list[Service]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        for service in alive:
            if service.pid() is None:
                raise RuntimeError(
                    f"{service.name} exited while waiting for {what}: {service.log_file.read_text()[-3000:]}"
                )
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def make_batches(envelopes: list[dict[str, Any]], per_request: int) -> list[tuple[list[str], bytes]]:
    return [
        ([str(e["event_id"]) for e in chunk], orjson.dumps(chunk))
        for chunk in (envelopes[i : i + per_request] for i in range(0, len(envelopes), per_request))
    ]


def latency_figures(posted: dict[str, float], watchers: dict[str, DeltaLogWatcher]) -> dict[str, Any]:
    """Percentiles of commit time - 202 time, for silver rows and for every event (silver or quarantine)."""
    out: dict[str, Any] = {}
    every: list[float] = []
    for name, watcher in watchers.items():
        lat = sorted(watcher.committed[i] - t for i, t in posted.items() if i in watcher.committed)
        every.extend(lat)
        out[name] = summarize(lat)
    out["all"] = summarize(sorted(every))
    return out


def summarize(lat: list[float]) -> dict[str, Any]:
    if not lat:
        return {"events": 0}
    return {
        "events": len(lat),
        "p50_s": round(percentile(lat, 0.50), 3),
        "p95_s": round(percentile(lat, 0.95), 3),
        "p99_s": round(percentile(lat, 0.99), 3),
        "max_s": round(lat[-1], 3),
        "min_s": round(lat[0], 3),
    }


def start_gateway(state: Path, bootstrap: str, contracts: Path) -> tuple[Service, int]:
    """A real gateway process (`python -m weir gateway`), the bench tenant unlimited, edge rules from `contracts`."""
    port = free_port()
    service = Service("bench-gateway", Home(state).ensure())
    env = {
        "WEIR_HOME": str(state),
        "WEIR_KAFKA_BOOTSTRAP": bootstrap,
        "WEIR_API_KEYS": "bench:bench-key",
        "WEIR_GATEWAY_PORT": str(port),
        "WEIR_CONTRACTS_DIR": str(contracts),
        "WEIR_TENANTS_FILE": "",
    }
    service.start([sys.executable, "-m", "weir", "gateway", "--port", str(port)], env=env, cwd=REPO_ROOT)

    def ready() -> bool:
        try:
            status: int = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status
        except OSError:
            return False
        return status == 200

    wait_until("the gateway to be ready", ready, 60, [service])
    return service, port


def _end_offsets(bootstrap: str, topic: str) -> str:
    """A startingOffsets JSON of `topic`'s current end offsets (for a shared broker whose topic has history)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"weir-bench-{time.time_ns()}"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions}
    finally:
        consumer.close()
    return json.dumps({topic: {str(p): end for p, end in sorted(ends.items())}})


def _events(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` shaped envelopes (a year of traffic, late events and re-sends; `_stream_data.shaped`) in arrival order,
    as a client posts them (the gateway stamps `received_at`)."""
    from bench import _stream_data as data

    return [event for event, *_ in data.shaped(n, seed).events]


def _metric_delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def _wait_found(posted: dict[str, float], watchers: dict[str, DeltaLogWatcher], timeout_s: float) -> int:
    """Poll the Delta logs until every posted event was committed somewhere, or `timeout_s`; missing count."""
    deadline = time.monotonic() + timeout_s
    while True:
        for watcher in watchers.values():
            watcher.poll()
        missing = sum(1 for i in posted if not any(i in w.committed for w in watchers.values()))
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(1.0)


def _warm_up(
    port: int,
    events: list[dict[str, Any]],
    per_request: int,
    interval_s: float,
    threads: int,
    watchers: dict[str, DeltaLogWatcher],
    stream: Service,
) -> None:
    """Post `events` (untimed) and wait until every accepted one is in the tables."""
    posted = post_open_loop(port, make_batches(events, per_request), interval_s, threads)
    missing = _wait_found(posted.accepted_at, watchers, 300)
    if missing:
        raise RuntimeError(f"{missing} warm-up events never reached the tables: {stream.log_file}")


def latency_phase(
    args: Any, state: Path, bootstrap: str, contracts: Path, failures_topic: str, log: Any
) -> dict[str, Any]:
    from ingest.topics import EVENTS_TOPIC

    private = not os.environ.get("WEIR_KAFKA_BOOTSTRAP")
    starting = "earliest" if private else _end_offsets(bootstrap, EVENTS_TOPIC)
    gateway, port = start_gateway(state / "gateway", bootstrap, contracts)
    log(f"gateway ready on port {port}")
    metrics_port = free_port()
    stream_home = state / "stream"
    lake = stream_home / "lake"
    env = {
        "WEIR_KAFKA_BOOTSTRAP": bootstrap,
        "WEIR_LAKE_URI": str(lake),
        "WEIR_STREAM_METRICS_PORT": str(metrics_port),
        "WEIR_SPARK_JARS_DIR": str(Home.from_env().jars / "spark"),
        "WEIR_CONTRACTS_DIR": str(contracts),
        "WEIR_STARTING_OFFSETS": starting,
        "WEIR_EVENTS_TOPIC": EVENTS_TOPIC,
        "WEIR_FAILURES_TOPIC": failures_topic,
    }
    trigger = args.trigger_seconds if args.trigger_seconds is not None else (None if args.profile else 1)
    if trigger is not None:
        env["WEIR_TRIGGER_SECONDS"] = f"{trigger:g}"
    if args.profile:
        env["WEIR_STREAM_PROFILE"] = args.profile  # the job's profile (issue #12); a job without it ignores it
    watchers = {name: DeltaLogWatcher(lake / name / "events") for name in ("silver", "quarantine")}
    stream: Service | None = None
    try:
        t0 = time.monotonic()
        stream = start_stream(stream_home, env)
        wait_until("the streaming job's tables", watchers["silver"].exists, 300, [stream, gateway])
        log(f"streaming job started, tables created after {time.monotonic() - t0:.1f} s; warm-up")
        _warm_up(port, _events(20 * args.per_request, seed=7), args.per_request, 0.05, 4, watchers, stream)
        log(f"first batches done {time.monotonic() - t0:.1f} s after start")
        warmup_s = args.latency_warmup_seconds
        if warmup_s > 0:  # the measured phase starts in the steady state: JIT-compiled code, state, dates' dirs
            steady = _events(int(args.rate * warmup_s), seed=6)
            _warm_up(port, steady, args.per_request, args.per_request / args.rate, 8, watchers, stream)
            log(f"{len(steady):,} events posted at {args.rate:g}/s for {warmup_s:g} s, all found")
        log(f"posting {args.rate:g} events/s")

        total = int(args.rate * args.latency_seconds)
        batches = make_batches(_events(total, seed=8), args.per_request)
        before = scrape(metrics_port)
        posting_started, posting_started_epoch = time.monotonic(), time.time()
        posted = post_open_loop(port, batches, args.per_request / args.rate, 8)
        posting_s = time.monotonic() - posting_started
        log(f"posted {len(posted.accepted_at):,} events in {posting_s:.1f} s ({posted.errors} failed requests)")
        missing = _wait_found(posted.accepted_at, watchers, 300)
        after = scrape(metrics_port)
        log(f"every posted event found: {missing == 0} ({missing} missing)")
    finally:
        stop_started = time.monotonic()
        if stream is not None:
            stream.stop(timeout_s=90)
        stop_s = time.monotonic() - stop_started
        gateway.stop(timeout_s=20)
    stream_log = stream.log_file.read_text(errors="replace") if stream is not None else ""
    batches_n = _metric_delta(before, after, "weir_stream_batches_total")
    batch_s = _metric_delta(before, after, "weir_stream_batch_seconds_sum")
    return {
        "offered_events_per_s": args.rate,
        "events_per_request": args.per_request,
        "seconds": args.latency_seconds,
        "posting_s": round(posting_s, 2),
        "achieved_events_per_s": round(len(posted.accepted_at) / posting_s),
        "requests": posted.requests,
        "failed_requests": posted.errors,
        "statuses": {str(k): v for k, v in sorted(posted.statuses.items())},
        "late_sends": posted.late_sends,
        "accepted_events": len(posted.accepted_at),
        "missing_events": missing,
        "latency": latency_figures(posted.accepted_at, watchers),
        "trigger_seconds": trigger,
        "profile": args.profile,
        "warmup_seconds_at_rate": args.latency_warmup_seconds,
        "starting_offsets": "earliest (fresh topic)" if private else "end offsets",
        "batches_during_phase": int(batches_n),
        "mean_batch_s": round(batch_s / batches_n, 3) if batches_n else None,
        "delta_commits": {name: w.commits for name, w in watchers.items()},
        # silver commits with rows: (seconds after posting started, rows added); the gaps are the batch cadence
        "silver_commits": [(round(ts - posting_started_epoch, 2), n) for ts, n in watchers["silver"].log],
        "stream_stop_s": round(stop_s, 2),
        "stream_log_tracebacks": stream_log.count("Traceback"),
        "files": {name: files_per_partition(lake / name / "events", 0) for name in watchers},
    }
