"""Subscribing to data-quality failures: the records of `weir.dq-failures.v1` (../shared/CONTRACT.md), typed.

`decode` turns one message into a frozen `FailureRecord` or raises `InvalidFailureRecord`. `FailureSubscriber`
reads the topic with confluent-kafka, filters (`FailureFilter`), drops redelivered duplicates, and yields
records. The topic is at-least-once and keyed by `event_id`: a consumer must tolerate seeing a failure twice.
"""

import logging
import re
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC
from fnmatch import translate
from types import TracebackType
from typing import Annotated, Any, Literal, Self

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.exceptions import BrokerUnavailable, InvalidFailureFilter, InvalidFailureRecord, TopicNotFound
from ingest.topics import DQ_FAILURES_TOPIC

log = logging.getLogger(__name__)
_librdkafka_log = logging.getLogger("ingest.failures.librdkafka")
_librdkafka_log.addHandler(logging.NullHandler())  # reconnect chatter reaches only apps that configure logging

Severity = Literal["warn", "quarantine", "fail"]
Stage = Literal["stream", "backfill", "sweep"]
SEVERITY_ORDER: Mapping[str, int] = {"warn": 0, "quarantine": 1, "fail": 2}
_TRANSIENT = frozenset(
    {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART}
)


class FailedRule(BaseModel):
    """One rule an event broke: its id (`envelope.*` for envelope rules), severity and message."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    rule: str = Field(min_length=1)
    severity: Severity
    message: str


class FailureRecord(BaseModel):
    """One failing event as published on the DQ-failure topic. Unknown fields are ignored (the format may
    grow); `event` is the original envelope, or None with `raw` set when the record was not an envelope."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    event_id: str | None = None
    event_type: str | None = None
    tenant: str | None = None
    stage: Stage
    failed_rules: tuple[FailedRule, ...]
    event: dict[str, Any] | None = None
    detected_at: Annotated[AwareDatetime, AfterValidator(lambda ts: ts.astimezone(UTC))]
    raw: str | None = None
    table: str | None = None  # a sweep's dataset-rule failure: the table it broke on

    @model_validator(mode="after")
    def _event_or_raw(self) -> Self:
        if self.stage == "sweep" and self.event_id is None:
            # A dataset rule broke: no single event, so neither `event` nor `raw`; the table and rule say what.
            if self.event is not None or self.raw is not None or self.table is None or not self.failed_rules:
                raise ValueError("a sweep's dataset-rule failure has `table` and a failed rule, no `event` or `raw`")
            return self
        if (self.event is None) == (self.raw is None):
            raise ValueError("exactly one of `event` (an envelope) and `raw` (an unparseable record) must be set")
        if not self.failed_rules and self.stage != "backfill":
            # Only a replay's verdict may say an event passes now (`failed_rules` empty).
            raise ValueError("failed_rules is empty: only a backfill verdict may be")
        return self

    def as_message(self) -> dict[str, Any]:
        """The record in its wire format (`raw` only when set; `detected_at` as RFC 3339 UTC)."""
        out = self.model_dump(mode="json")
        for optional in ("raw", "table"):
            if out[optional] is None:
                del out[optional]
        out["detected_at"] = self.detected_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return out


def decode(value: bytes | str | None) -> FailureRecord:
    """Parse and validate one message value; raises `InvalidFailureRecord` saying what is wrong."""
    if value is None:
        raise InvalidFailureRecord("the message has no value (a tombstone)")
    try:
        return FailureRecord.model_validate_json(value)
    except ValidationError as exc:
        raise InvalidFailureRecord(_describe(exc)) from None


def _describe(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for err in errors[:limit]:
        path = ".".join(str(p) for p in err["loc"])
        parts.append(f"{path}: {err['msg']}" if path else err["msg"])
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "not a failure record: " + "; ".join(parts) + more


def _patterns(values: Iterable[str], what: str) -> re.Pattern[str] | None:
    """Shell-style patterns (`envelope.*`, `order.created`) as one anchored regex; None for no filter."""
    values = list(values)
    if any(not v for v in values):
        raise InvalidFailureFilter(f"an empty {what} pattern matches nothing")
    return re.compile("|".join(f"(?:{translate(v)})" for v in values)) if values else None


class FailureFilter:
    """Which records a subscriber yields. Empty criteria match everything; criteria combine with AND.

    `event_types` and `rules` take shell-style patterns (`order.*`, `envelope.*`); `tenants` exact names.
    A record matches the rule criteria when one of its failed rules matches `rules` (if given) and has a
    severity of at least `min_severity` (if given; warn < quarantine < fail)."""

    def __init__(
        self,
        *,
        event_types: Iterable[str] = (),
        rules: Iterable[str] = (),
        tenants: Iterable[str] = (),
        min_severity: str | None = None,
    ) -> None:
        if min_severity is not None and min_severity not in SEVERITY_ORDER:
            raise InvalidFailureFilter(f"unknown severity {min_severity!r}: use one of {', '.join(SEVERITY_ORDER)}")
        self._event_types = _patterns(event_types, "event type")
        self._rules = _patterns(rules, "rule")
        self._tenants = frozenset(tenants)
        self._min_rank = SEVERITY_ORDER[min_severity] if min_severity else None

    def matches(self, record: FailureRecord) -> bool:
        if self._event_types is not None and (
            record.event_type is None or not self._event_types.fullmatch(record.event_type)
        ):
            return False
        if self._tenants and record.tenant not in self._tenants:
            return False
        if self._rules is None and self._min_rank is None:
            return True
        return any(self._rule_matches(r) for r in record.failed_rules)

    def _rule_matches(self, rule: FailedRule) -> bool:
        if self._rules is not None and not self._rules.fullmatch(rule.rule):
            return False
        return self._min_rank is None or SEVERITY_ORDER[rule.severity] >= self._min_rank


class RecentIds:
    """A bounded set of the most recently seen ids (least recently seen evicted first)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise InvalidFailureFilter("the dedupe capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> bool:
        """Remember `key`; True when it was new, False when it had been seen (it becomes the most recent)."""
        if key in self._ids:
            self._ids.move_to_end(key)
            return False
        self._ids[key] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


OnMalformed = Callable[[InvalidFailureRecord], None]


class FailureSubscriber:
    """Reads DQ failures from Kafka. Use as a context manager, then iterate `records()`.

    Starts at the end of the topic ("now": every partition at its high watermark, read when entering) or,
    with `from_beginning`, at its start. Without `group_id` nothing is committed. With `group_id` the group's
    committed offsets win (partitions without one start as above; partitions are balanced across the
    group's members), and a record's offset is committed only once the caller asks for the next record (or
    `max_records` is reached): a consumer interrupted mid-record sees it again (at-least-once).

    Malformed messages are counted in `malformed` and passed to `on_malformed`; `errors="raise"` raises
    them instead. `dedupe` drops a record whose `event_id` (else Kafka key) was already yielded, remembering
    the last `dedupe_capacity` ids. `config` adds librdkafka settings (security, client id)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: str = DQ_FAILURES_TOPIC,
        event_types: Iterable[str] = (),
        rules: Iterable[str] = (),
        tenants: Iterable[str] = (),
        min_severity: str | None = None,
        from_beginning: bool = False,
        group_id: str | None = None,
        dedupe: bool = True,
        dedupe_capacity: int = 100_000,
        errors: Literal["skip", "raise"] = "skip",
        on_malformed: OnMalformed | None = None,
        config: Mapping[str, Any] | None = None,
        request_timeout_s: float = 10.0,
    ) -> None:
        self.filter = FailureFilter(event_types=event_types, rules=rules, tenants=tenants, min_severity=min_severity)
        self.topic = topic
        self.malformed = 0
        self.duplicates = 0
        self._bootstrap = bootstrap
        self._from_beginning = from_beginning
        self._group_id = group_id
        self._recent = RecentIds(dedupe_capacity) if dedupe else None
        self._errors = errors
        self._on_malformed = on_malformed
        self._config = dict(config or {})
        self._timeout_s = request_timeout_s
        self._consumer: Consumer | None = None
        self._start: dict[int, int] = {}
        self._buffer: deque[Message] = deque()

    def __enter__(self) -> Self:
        consumer = Consumer(self._consumer_config())
        try:
            partitions = self._partitions(consumer)
            if self._from_beginning:
                self._start = dict.fromkeys(partitions, OFFSET_BEGINNING)
            else:
                self._start = {p: self._high_watermark(consumer, p) for p in partitions}
            if self._group_id is None:
                consumer.assign([TopicPartition(self.topic, p, off) for p, off in self._start.items()])
            else:
                consumer.subscribe([self.topic], on_assign=self._on_assign)
        except BaseException:
            consumer.close()
            raise
        self._consumer = consumer
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Leave the group (committing stored offsets) and release the consumer; idempotent."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            self._buffer.clear()
            consumer.close()

    def records(self, timeout_s: float | None = None, max_records: int | None = None) -> Iterator[FailureRecord]:
        """Yield matching records in partition order; stop after `max_records`, or once `timeout_s` seconds
        pass without a record to yield (None: never)."""
        if self._consumer is None:
            raise RuntimeError("use the subscriber as a context manager: `with FailureSubscriber(...) as sub:`")
        consumer = self._consumer
        yielded = 0
        last = time.monotonic()
        while max_records is None or yielded < max_records:
            if not self._buffer:
                wait = 0.5
                if timeout_s is not None:
                    wait = min(wait, last + timeout_s - time.monotonic())
                    if wait <= 0:
                        return
                self._buffer.extend(consumer.consume(num_messages=500, timeout=wait))
                continue
            msg = self._buffer.popleft()
            record = self._accept(msg)
            if record is not None:
                yield record
                yielded += 1
                last = time.monotonic()
            self._done(consumer, msg)

    def _accept(self, msg: Message) -> FailureRecord | None:
        """The record to yield for `msg`, or None for a Kafka event, a malformed message, a filtered record
        or a duplicate."""
        err = msg.error()
        if err is not None:
            if err.fatal():
                raise BrokerUnavailable(f"kafka consumer failed: {err.str()}")
            log.warning("kafka consumer: %s", err.str())
            return None
        try:
            record = decode(msg.value())
        except InvalidFailureRecord as exc:
            bad = InvalidFailureRecord(exc.reason, where=f"{msg.topic()}/{msg.partition()}@{msg.offset()}")
            self.malformed += 1
            if self._errors == "raise":
                raise bad from None
            if self._on_malformed is not None:
                self._on_malformed(bad)
            return None
        if not self.filter.matches(record):
            return None
        if self._recent is not None:
            key = record.event_id or _text(msg.key())
            if key is not None and not self._recent.add(key):
                self.duplicates += 1
                return None
        return record

    def _done(self, consumer: Consumer, msg: Message) -> None:
        """Mark `msg` processed: with a group, its offset is committed by the next (auto or closing) commit."""
        if self._group_id is None or msg.error() is not None:
            return
        try:
            consumer.store_offsets(message=msg)
        except KafkaException as exc:  # the partition was revoked meanwhile: its new owner reads it again
            log.info("offset of %s/%s@%s not stored: %s", msg.topic(), msg.partition(), msg.offset(), exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            committed = consumer.committed(partitions, timeout=self._timeout_s)
        except KafkaException as exc:  # librdkafka then resumes from the committed offsets on its own
            log.warning(
                "could not read the committed offsets of %s (%s): starting per auto.offset.reset", self.topic, exc
            )
            consumer.assign(partitions)
            return
        for tp in committed:
            if tp.offset < 0:
                tp.offset = self._start.get(tp.partition, OFFSET_BEGINNING if self._from_beginning else tp.offset)
        consumer.assign(committed)

    def _consumer_config(self) -> dict[str, Any]:
        group = self._group_id is not None
        return {
            "bootstrap.servers": self._bootstrap,
            "group.id": self._group_id or f"weir-failures-{uuid.uuid4()}",  # unused without a group: assign()
            "enable.auto.commit": group,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest" if self._from_beginning else "latest",
            "socket.connection.setup.timeout.ms": 5000,
            "logger": _librdkafka_log,
            **self._config,
        }

    def _partitions(self, consumer: Consumer) -> list[int]:
        try:
            meta = consumer.list_topics(self.topic, timeout=self._timeout_s)
        except KafkaException as exc:
            raise BrokerUnavailable(f"no Kafka answered at {self._bootstrap}: {exc}") from exc
        topic = meta.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise TopicNotFound(
                f"topic {self.topic} does not exist on {self._bootstrap} (`weir topics create` creates it)"
            )
        return sorted(topic.partitions)

    def _high_watermark(self, consumer: Consumer, partition: int) -> int:
        # A fresh partition can answer NOT_LEADER for a moment after its metadata shows a leader: retry those.
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=self._timeout_s, cached=False
                )
                return int(high)
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                transient = err is not None and (err.retriable() or err.code() in _TRANSIENT)
                if not transient or time.monotonic() >= deadline:
                    raise BrokerUnavailable(f"could not read the end of {self.topic}/{partition}: {exc}") from exc
            time.sleep(0.2)


def _text(key: bytes | str | None) -> str | None:
    if key is None or isinstance(key, str):
        return key
    return key.decode("utf-8", "replace")
