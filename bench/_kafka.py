"""What the benchmarks share to stand up their infrastructure: free local ports and a private Kafka broker."""

import os
import socket
from collections.abc import Callable
from pathlib import Path

from weir.stack.kafka import LocalKafka
from weir.stack.paths import Home
from weir.stack.procs import Service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(state: Path, jars: Path, log: Callable[[str], None]) -> LocalKafka | None:
    """A private broker on free ports from the Kafka jars under `jars`, unless WEIR_KAFKA_BOOTSTRAP names one
    (then None)."""
    if os.environ.get("WEIR_KAFKA_BOOTSTRAP"):
        return None
    broker = LocalKafka(
        Service("bench-kafka", Home(state).ensure()),
        jars / "kafka",
        state / "data",
        port=free_port(),
        controller_port=free_port(),
        heap="512m",
    )
    log(f"starting a private Kafka broker on {broker.bootstrap}")
    broker.start()
    return broker
