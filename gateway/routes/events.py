"""`POST /v1/events` (one event) and `POST /v1/events/batch` (a JSON array or NDJSON): read the body under
limits, validate each event (envelope, tenant's event types, edge contract rules), rate-limit, produce, and
answer only after Kafka acknowledged (acks=all).

Batch answers: 202 all accepted; 207 some accepted (the rest rejected or `unavailable`: Kafka did not
acknowledge them, retry those); 422 none accepted and all rejected; 503 + Retry-After none accepted and at
least one `unavailable`. A bad event never refuses its good neighbours.
"""

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from gateway.body import (
    JSON_TYPES,
    NDJSON_TYPES,
    InvalidJSON,
    Limits,
    depth_of,
    media_type,
    ndjson_lines,
    parse_json,
    parse_or_400,
    read_body,
)
from gateway.deps import EdgeDep, LimiterDep, ProducerDep, SettingsDep, TenantDep
from gateway.edge import EdgeValidator
from gateway.exceptions import BadRequest, Forbidden, PayloadTooLarge, TooManyRequests
from gateway.responses import BATCH_OPENAPI, BATCH_RESPONSES, JSON, SINGLE_OPENAPI, SINGLE_RESPONSES
from gateway.settings import GatewaySettings
from gateway.tenants import RateLimiter, Tenant
from ingest.envelope import EventEnvelope, envelope_error_list, kafka_key, to_record
from ingest.exceptions import IngestError
from ingest.producer import AsyncProducer
from ingest.topics import EVENTS_TOPIC
from observability.metrics import (
    GATEWAY_DELIVERY_ERRORS,
    GATEWAY_EDGE_WARNINGS,
    GATEWAY_EVENTS,
    GATEWAY_PRODUCE_SECONDS,
    GATEWAY_PRODUCER_QUEUE,
    GATEWAY_REJECTED,
)

router = APIRouter(prefix="/v1", tags=["events"])


@dataclass
class Outcome:
    """One event's fate. `record` is its Kafka (key, value) while it is on its way to be produced."""

    index: int
    event_id: str | None = None
    status: str = "accepted"
    errors: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    record: tuple[bytes, bytes] | None = None
    retry_after_s: int = 0

    def reject(self, reason: str, errors: list[dict[str, Any]]) -> "Outcome":
        self.status, self.reason, self.errors, self.record = "rejected", reason, errors, None
        return self

    def result(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "status": self.status, "errors": self.errors}


def _error(path: str, kind: str, message: str) -> list[dict[str, Any]]:
    return [{"path": path, "type": kind, "message": message}]


@dataclass(frozen=True)
class _Checker:
    tenant: Tenant
    edge: EdgeValidator
    settings: GatewaySettings
    received_at: datetime

    def check(self, out: Outcome, raw: bytes, item: Any) -> Outcome:
        """Validate one event, given as its JSON bytes and its parsed value; fills `out`."""
        if isinstance(item, dict) and isinstance(item.get("event_id"), str):
            out.event_id = item["event_id"]
        if not isinstance(item, dict):
            return out.reject("envelope", _error("$", "not_an_object", "an event is a JSON object"))
        if len(raw) > self.settings.max_event_bytes:
            limit = self.settings.max_event_bytes
            return out.reject("too_large", _error("$", "too_large", f"the event is over {limit} bytes"))
        try:
            envelope = EventEnvelope.model_validate_json(raw)
        except ValidationError as exc:
            return out.reject("envelope", envelope_error_list(exc))
        out.event_id = str(envelope.event_id)
        if not self.tenant.allows(envelope.event_type):
            message = f"tenant {self.tenant.name!r} may not post events of type {envelope.event_type!r}"
            return out.reject("event_type_forbidden", _error("event_type", "forbidden", message))
        record = to_record(envelope, tenant=self.tenant.name, received_at=self.received_at)
        errors, warnings = self.edge.check(record)
        if errors:
            return out.reject("contract", errors)
        for rule in warnings:
            GATEWAY_EDGE_WARNINGS.labels(self.tenant.name, rule).inc()
        out.record = (kafka_key(envelope), orjson.dumps(record))
        return out


def _limits(settings: GatewaySettings) -> Limits:
    return Limits(settings.max_body_bytes, settings.max_decompressed_bytes, settings.max_json_depth)


async def _body(request: Request, settings: GatewaySettings) -> bytes:
    return await read_body(
        request.stream(),
        request.headers.get("content-length"),
        request.headers.get("content-encoding"),
        _limits(settings),
    )


async def _produce(
    outcomes: list[Outcome], tenant: Tenant, producer: AsyncProducer, limiter: RateLimiter
) -> list[Outcome]:
    """Rate-limit, then produce every event still carrying a record; Kafka's verdict lands on each."""
    ready = [o for o in outcomes if o.record is not None]
    if ready:
        nbytes = sum(len(o.record[1]) for o in ready if o.record is not None)
        wait = limiter.acquire(tenant, len(ready), nbytes)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"tenant {tenant.name!r} is over its rate; retry after {seconds}s",
                headers={"Retry-After": str(seconds)},
            )
        started = time.perf_counter()
        try:
            errors: list[IngestError | None] = list(
                await producer.send_many(EVENTS_TOPIC, [o.record for o in ready if o.record is not None])
            )
        except IngestError as exc:  # the producer is closed: the process is stopping
            errors = [exc] * len(ready)
        finally:
            GATEWAY_PRODUCE_SECONDS.observe(time.perf_counter() - started)
            GATEWAY_PRODUCER_QUEUE.set(producer.queue_depth())
        for out, err in zip(ready, errors, strict=True):
            out.record = None
            if err is not None:
                out.status, out.reason = "unavailable", "unavailable"
                out.errors = _error("$", "unavailable", str(err))
                out.retry_after_s = getattr(err, "retry_after_s", 1)
                GATEWAY_DELIVERY_ERRORS.inc()
    for out in outcomes:
        GATEWAY_EVENTS.labels(tenant.name, out.status).inc()
        if out.status != "accepted":
            GATEWAY_REJECTED.labels(tenant.name, out.reason).inc()
    return outcomes


def _retry_after(outcomes: list[Outcome]) -> dict[str, str]:
    waits = [o.retry_after_s for o in outcomes if o.status == "unavailable"]
    return {"Retry-After": str(max(1, *waits))} if waits else {}


@router.post("/events", status_code=202, response_model=None, openapi_extra=SINGLE_OPENAPI, responses=SINGLE_RESPONSES)
async def post_event(
    request: Request,
    tenant: TenantDep,
    producer: ProducerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    edge: EdgeDep,
) -> JSON:
    """One event (a JSON object). 202 once Kafka acknowledged it."""
    media_type(request.headers.get("content-type"), JSON_TYPES)
    body = await _body(request, settings)
    if not body.strip():
        raise _empty("send one event as a JSON object")
    if len(body) > settings.max_event_bytes:
        raise PayloadTooLarge(f"the event is {len(body)} bytes; the limit is {settings.max_event_bytes}")
    item = parse_or_400(body, settings.max_json_depth)
    out = _Checker(tenant, edge, settings, datetime.now(UTC)).check(Outcome(0), body, item)
    if out.reason == "event_type_forbidden":
        GATEWAY_EVENTS.labels(tenant.name, "rejected").inc()
        GATEWAY_REJECTED.labels(tenant.name, out.reason).inc()
        raise Forbidden(out.errors[0]["message"])
    [out] = await _produce([out], tenant, producer, limiter)
    if out.status == "accepted":
        return JSON({"status": "accepted", "event_id": out.event_id}, status_code=202)
    body_out = {"status": out.status, "event_id": out.event_id, "errors": out.errors}
    if out.status == "unavailable":
        body_out["error"] = out.errors[0]["message"]
        return JSON(body_out, status_code=503, headers=_retry_after([out]))
    return JSON(body_out, status_code=413 if out.reason == "too_large" else 422)


@router.post(
    "/events/batch", status_code=202, response_model=None, openapi_extra=BATCH_OPENAPI, responses=BATCH_RESPONSES
)
async def post_batch(
    request: Request,
    tenant: TenantDep,
    producer: ProducerDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    edge: EdgeDep,
) -> JSON:
    """Many events: a JSON array, or NDJSON (`Content-Type: application/x-ndjson`). Answers per event."""
    kind = media_type(request.headers.get("content-type"), JSON_TYPES | NDJSON_TYPES)
    body = await _body(request, settings)
    if not body.strip():
        raise _empty("send a JSON array of events, or NDJSON")
    checker = _Checker(tenant, edge, settings, datetime.now(UTC))
    # Validation is CPU work (~tens of µs per event with contract rules): off the event loop, so that a large
    # batch does not stall the other requests' I/O.
    validate = _ndjson if kind in NDJSON_TYPES else _array
    outcomes = await asyncio.to_thread(validate, body, checker, settings)
    outcomes = await _produce(outcomes, tenant, producer, limiter)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("accepted", "rejected", "unavailable")}
    answer = {**counts, "results": [o.result() for o in outcomes]}
    if counts["accepted"] == len(outcomes):
        status = 202
    elif counts["accepted"]:
        status = 207
    elif counts["unavailable"]:
        status = 503
    else:
        status = 422
    return JSON(answer, status_code=status, headers=_retry_after(outcomes))


def _too_many(count: int, settings: GatewaySettings) -> PayloadTooLarge:
    return PayloadTooLarge(f"the batch has {count} events; the limit is {settings.max_batch_events}")


def _empty(what: str) -> BadRequest:
    return BadRequest(f"the body is empty; {what}")


def _array(body: bytes, checker: _Checker, settings: GatewaySettings) -> list[Outcome]:
    # The array adds one level; an event nesting too deep is rejected alone, below.
    items = parse_or_400(body, max(settings.max_json_depth + 1, 512))
    if not isinstance(items, list):
        raise BadRequest("a batch is a JSON array of events (or NDJSON with Content-Type application/x-ndjson)")
    if len(items) > settings.max_batch_events:
        raise _too_many(len(items), settings)
    outcomes: list[Outcome] = []
    for index, item in enumerate(items):
        out = Outcome(index)
        if depth_of(item) > settings.max_json_depth:
            limit = settings.max_json_depth
            outcomes.append(out.reject("too_deep", _error("$", "too_deep", f"the event nests over {limit} levels")))
            continue
        outcomes.append(checker.check(out, orjson.dumps(item), item))
    return outcomes


def _ndjson(body: bytes, checker: _Checker, settings: GatewaySettings) -> list[Outcome]:
    lines = ndjson_lines(body)
    if len(lines) > settings.max_batch_events:
        raise _too_many(len(lines), settings)
    outcomes: list[Outcome] = []
    for index, line in enumerate(lines):
        out = Outcome(index)
        if len(line) > settings.max_event_bytes:
            limit = settings.max_event_bytes
            outcomes.append(out.reject("too_large", _error("$", "too_large", f"the event is over {limit} bytes")))
            continue
        try:
            item = parse_json(line, settings.max_json_depth)
        except InvalidJSON as exc:
            outcomes.append(out.reject(exc.reason, _error("$", exc.reason, str(exc))))
            continue
        outcomes.append(checker.check(out, line, item))
    return outcomes
