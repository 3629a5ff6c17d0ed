"""An asyncio-friendly Kafka producer: acks=all, idempotent, one poll thread resolving futures.

`send` returns only after the broker acknowledged the write (the delivery report) and raises
`BrokerUnavailable` when it did not: queue full, broker unreachable past the delivery timeout, or any other
delivery error. Nothing is acknowledged that Kafka did not acknowledge.
"""

import asyncio
import itertools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from ingest.exceptions import BrokerUnavailable, ProducerClosed

log = logging.getLogger(__name__)


def producer_config(bootstrap: str, *, client_id: str, delivery_timeout_ms: int) -> dict[str, Any]:
    """The settings every Weir producer uses: durable (acks=all), idempotent (no duplicates from retries),
    bounded (a delivery report within `delivery_timeout_ms`, success or error)."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 2,
        "compression.type": "lz4",
        "message.timeout.ms": delivery_timeout_ms,
        "socket.connection.setup.timeout.ms": max(1000, min(delivery_timeout_ms, 5000)),  # librdkafka: >= 1000
        "queue.buffering.max.messages": 200_000,
    }


class AsyncProducer:
    """One per process. Thread-safe; `send` and `send_many` must be awaited from the event loop."""

    def __init__(self, bootstrap: str, *, client_id: str = "weir", delivery_timeout_ms: int = 5000) -> None:
        self._producer = Producer(
            {
                **producer_config(bootstrap, client_id=client_id, delivery_timeout_ms=delivery_timeout_ms),
                "error_cb": self._on_error,
            }
        )
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._poll_loop, name="weir-producer-poll", daemon=True)
        self._thread.start()
        self.ever_connected = False

    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    @staticmethod
    def _on_error(err: KafkaError) -> None:
        log.warning("kafka producer: %s", err)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one record and wait for its acknowledgement."""
        errors = await self.send_many(topic, [(key, value)])
        if errors[0] is not None:
            raise errors[0]

    async def send_many(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> list[BrokerUnavailable | None]:
        """Produce records and wait for all their acknowledgements with one future; the result holds, per
        record, None when Kafka acknowledged it or the error when it did not."""
        if self._closed.is_set():
            raise ProducerClosed("the producer is closed")
        results: list[BrokerUnavailable | None] = [None] * len(records)
        if not records:
            return results
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        settled = _Countdown(len(records), loop, done)
        produce = self._producer.produce

        settle = settled.tick_one

        def on_delivery(index: int) -> Any:
            def callback(err: KafkaError | None, _msg: Any) -> None:
                if err is not None:
                    results[index] = BrokerUnavailable(f"kafka did not acknowledge the write: {err.str()}")
                settle()

            return callback

        for index, (key, value) in enumerate(records):
            try:
                produce(topic, value, key, on_delivery=on_delivery(index))
            except (BufferError, KafkaException) as exc:
                if isinstance(exc, BufferError):
                    err = BrokerUnavailable("the producer queue is full", retry_after_s=1)
                else:
                    err = BrokerUnavailable(f"kafka refused the write: {exc}")
                for unsent in range(index, len(records)):
                    results[unsent] = err
                settled.tick(len(records) - index)
                break
        await done
        return results

    def check_connection(self, timeout_s: float = 2.0) -> bool:
        """True when a metadata request reaches the cluster (blocking; call it from a thread)."""
        try:
            meta = self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        ok = bool(meta.brokers)
        self.ever_connected = self.ever_connected or ok
        return ok

    def queue_depth(self) -> int:
        return len(self._producer)

    def close(self, timeout_s: float = 10.0) -> int:
        """Flush what is in flight (their futures resolve), stop the poll thread; returns messages left."""
        left: int = self._producer.flush(timeout_s)
        self._closed.set()
        self._thread.join(timeout=2)
        return left


class _Countdown:
    """Resolves `done` on the event loop once `total` records are settled (acknowledged, failed, or never
    sent). Ticks come from the poll thread or a flush; `next()` on a counter is atomic, so no lock."""

    __slots__ = ("_done", "_loop", "_settled", "_total")

    def __init__(self, total: int, loop: asyncio.AbstractEventLoop, done: "asyncio.Future[None]") -> None:
        self._total = total
        self._loop = loop
        self._done = done
        self._settled = itertools.count(1)

    def tick_one(self) -> None:
        if next(self._settled) == self._total:
            self._loop.call_soon_threadsafe(_set_done, self._done)

    def tick(self, n: int) -> None:
        for _ in range(n):
            self.tick_one()


def _set_done(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)
