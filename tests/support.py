"""Helpers shared by tests: free ports, events, Kafka polling, a real gateway process."""

import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer

from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.created",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": "tests",
        "payload": {"order_id": "A-1", "amount": 12.5, "currency": "EUR"},
    }
    event.update(overrides)
    return event


def record_of(msg: Any) -> dict[str, Any]:
    """A Kafka message's JSON object, or {} for anything else: the shared `weir.events.v1` also holds the records
    the streaming tests and the demo write on purpose (not JSON, no key)."""
    try:
        value = orjson.loads(msg.value() or b"")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def consume_until(consumer: Consumer, want: Callable[[list[Any]], bool], timeout_s: float = 30) -> list[Any]:
    """Poll until `want(messages)` holds or the timeout passes; returns every message seen. Reads in batches and
    asks `want` at most every 0.2 s (or when caught up), so a condition that scans every message stays linear
    on a topic that already holds many thousands (the shared events topic does, late in the suite)."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout_s
    asked = 0.0
    while time.monotonic() < deadline:
        batch = consumer.consume(num_messages=1000, timeout=0.5)
        seen.extend(m for m in batch if m.error() is None)
        now = time.monotonic()
        if not batch or now - asked >= 0.2:
            asked = now
            if want(seen):
                return seen
    return seen


class GatewayProcess:
    """A real gateway: `python -m weir gateway` under uvicorn, in its own process."""

    def __init__(self, home: Path, bootstrap: str, api_keys: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service = Service("gateway", Home(home).ensure())
        self.env = {
            "WEIR_HOME": str(home),
            "WEIR_KAFKA_BOOTSTRAP": bootstrap,
            "WEIR_API_KEYS": api_keys,
            "WEIR_GATEWAY_PORT": str(self.port),
            **env,
        }

    def start(self) -> "GatewayProcess":
        self.service.start([sys.executable, "-m", "weir", "gateway"], env=self.env, cwd=REPO_ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                assert self.service.pid() is not None, self.service.log_file.read_text()
                time.sleep(0.2)
        raise AssertionError(f"gateway did not start: {self.service.log_file.read_text()}")

    def stop(self) -> None:
        self.service.stop(timeout_s=20)
