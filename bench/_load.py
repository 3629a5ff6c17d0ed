"""Load generation for bench/gateway.py: events of a given size, closed-loop batched clients and an open-loop
single-event client, over keep-alive HTTP/1.1 connections on bare sockets (one per thread; threads release the
GIL while they wait on the socket)."""

import itertools
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

HEADERS_JSON = {"Content-Type": "application/json", "X-API-Key": "bench-key"}


def make_event(size: int) -> dict[str, object]:
    """One valid envelope whose JSON is about `size` bytes (padded in the payload)."""
    event: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.created",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": "bench",
        "key": f"customer-{uuid.uuid4().int % 10_000}",
        "payload": {"order_id": "A-1001", "amount": 42.5, "currency": "EUR", "note": ""},
    }
    pad = size - len(orjson.dumps(event))
    event["payload"] = {"order_id": "A-1001", "amount": 42.5, "currency": "EUR", "note": "x" * max(0, pad)}
    return event


def batch_bodies(count: int, per_request: int, size: int) -> list[bytes]:
    return [orjson.dumps([make_event(size) for _ in range(per_request)]) for _ in range(count)]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class Connection:
    """A keep-alive HTTP/1.1 connection on a bare socket, reconnecting after an error. It writes each request
    in one `sendall` and reads the answer by its Content-Length: a few µs of CPU per request, where
    `http.client` spends ~100 µs parsing headers, which on a shared machine is CPU taken from the gateway."""

    def __init__(self, host: str, port: int, timeout_s: float = 30.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._sock: socket.socket | None = None
        self._heads: dict[tuple[str, int], bytes] = {}

    def _head(self, path: str, length: int, headers: dict[str, str]) -> bytes:
        head = self._heads.get((path, length))
        if head is None:
            lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {length}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            head = ("\r\n".join(lines) + "\r\n\r\n").encode()
            if len(self._heads) < 4096:
                self._heads[(path, length)] = head
        return head

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.sendall(self._head(path, len(body), headers) + body)
            status, answer, keep_alive = self._read(self._sock)
        except (OSError, ValueError):
            self.close()
            raise
        if not keep_alive:
            self.close()
        return status, answer

    @staticmethod
    def _read(sock: socket.socket) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection stays open) of one answer."""
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        head = data[:end].lower() + b"\r\n"
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise ValueError("an answer without Content-Length")
        length = int(head[at + 17 : head.find(b"\r\n", at + 2)])
        body = data[end + 4 :]
        while len(body) < length:
            chunk = sock.recv(max(65536, length - len(body)))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            body += chunk
        return int(head[9:12]), body[:length], b"\r\nconnection: close\r\n" not in head

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@dataclass
class BatchedResult:
    requests: int = 0
    events: int = 0
    errors: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


def run_batched(
    host: str, port: int, path: str, bodies: list[bytes], per_request: int, clients: int, seconds: float
) -> BatchedResult:
    """`clients` threads, each posting batches back to back (closed loop) for `seconds`."""
    result = BatchedResult()
    lock = threading.Lock()
    counter = itertools.count()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        conn = Connection(host, port)
        ok = errors = 0
        statuses: dict[int, int] = {}
        while time.perf_counter() < stop_at:
            body = bodies[next(counter) % len(bodies)]
            try:
                status, _ = conn.post(path, body, HEADERS_JSON)
            except (OSError, ValueError):
                errors += 1
                continue
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                ok += 1
            else:
                errors += 1
        conn.close()
        with lock:
            result.requests += ok + errors
            result.events += ok * per_request
            result.errors += errors
            for status, n in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class OpenLoopResult:
    offered_rps: float
    scheduled: int
    completed: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def run_open_loop(
    host: str, port: int, path: str, bodies: list[bytes], rate: float, seconds: float, threads: int
) -> OpenLoopResult:
    """Request i is due at start + i/rate whatever happened before (open loop). Latency is measured from that
    scheduled time, so time a request spent waiting for a free connection is counted (no coordinated
    omission). `threads` connections take the next due request as they become free."""
    total = int(rate * seconds)
    result = OpenLoopResult(offered_rps=rate, scheduled=total)
    lock = threading.Lock()
    counter = itertools.count()
    start = time.perf_counter() + 0.2

    def worker() -> None:
        conn = Connection(host, port)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        while True:
            i = next(counter)
            if i >= total:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                status, _ = conn.post(path, bodies[i % len(bodies)], HEADERS_JSON)
            except (OSError, ValueError):
                status = 0
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
            if status != 202:
                errors += 1
        conn.close()
        with lock:
            result.latencies_s.extend(latencies)
            result.errors += errors
            for status, n in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.seconds = time.perf_counter() - start
    result.completed = len(result.latencies_s)
    result.latencies_s.sort()
    return result
