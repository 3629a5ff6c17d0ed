"""`POST /v1/events` (one event) and `POST /v1/events/batch` (a JSON array or NDJSON): read the body under
limits, rate-limit (an estimate of the request's cost reserved before anything is parsed, settled to the
events to produce after validation: `gateway.ratelimit`), validate each event (`gateway.validate`: envelope,
tenant's event types, edge contract rules), produce, and answer only after Kafka acknowledged (acks=all).

Batch answers: 202 all accepted; 207 some accepted (the rest rejected or `unavailable`: Kafka did not
acknowledge them, retry those); 422 none accepted and all rejected; 503 + Retry-After none accepted and at
least one `unavailable`. A bad event never refuses its good neighbours.
"""

import asyncio
import functools
import math
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.body import JSON_TYPES, NDJSON_TYPES, Limits, media_type, read_body
from gateway.deps import tenant_for
from gateway.edge import EdgeValidator
from gateway.exceptions import BadRequest, Forbidden, PayloadTooLarge, TooManyRequests
from gateway.ratelimit import RateLimiter
from gateway.responses import BATCH_OPENAPI, BATCH_RESPONSES, JSON, SINGLE_OPENAPI, SINGLE_RESPONSES, batch_answer
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant
from gateway.validate import Checker, Outcome, error, validate_array, validate_ndjson, validate_single
from ingest.exceptions import IngestError
from ingest.producer import AsyncProducer
from ingest.topics import EVENTS_TOPIC
from observability.metrics import (
    GATEWAY_DELIVERY_ERRORS,
    GATEWAY_EVENTS,
    GATEWAY_PRODUCE_SECONDS,
    GATEWAY_PRODUCER_QUEUE,
    GATEWAY_REJECTED,
)

router = APIRouter(prefix="/v1", tags=["events"])

# A body up to this size (~150 events of 400 B, ~2 ms of validation) is validated on the event loop: handing it
# to a thread costs more CPU (a hop, then the GIL passed back and forth) than the short stall costs the other
# requests. Larger bodies go to a thread so that the loop keeps serving while they are checked.
INLINE_BATCH_BYTES = 65_536


class _Context:
    """What a request needs from the app, read from `app.state` per request (tests swap its parts)."""

    __slots__ = ("edge", "limiter", "producer", "settings", "tenant")

    def __init__(self, request: Request) -> None:
        state = request.app.state
        headers = request.headers
        self.tenant: Tenant = tenant_for(state.tenants, headers.get("x-api-key"), headers.get("authorization"))
        self.producer: AsyncProducer = state.producer
        self.settings: GatewaySettings = state.settings
        self.limiter: RateLimiter = state.limiter
        self.edge: EdgeValidator = state.edge


def _limits(settings: GatewaySettings) -> Limits:
    return Limits(settings.max_body_bytes, settings.max_decompressed_bytes, settings.max_json_depth)


async def _body(request: Request, settings: GatewaySettings) -> bytes:
    return await read_body(
        request.stream(),
        request.headers.get("content-length"),
        request.headers.get("content-encoding"),
        _limits(settings),
    )


async def _admitted(
    ctx: _Context, estimate: tuple[int, int], run: Callable[[], list[Outcome]], *, offload: bool = False
) -> list[Outcome]:
    """Reserve `estimate` (events, bytes) from the tenant's buckets before anything is parsed (429 when it is
    over its rate), validate (`run`; in a thread if `offload`), then settle the reservation to the events to
    produce and their bytes (413 when they can never fit; a request refused whole costs nothing)."""
    tenant, limiter = ctx.tenant, ctx.limiter
    wait = limiter.reserve(tenant, *estimate)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"tenant {tenant.name!r} is over its rate; retry after {seconds}s", headers={"Retry-After": str(seconds)}
        )
    try:
        outcomes = await asyncio.to_thread(run) if offload else run()
    except BaseException:
        limiter.settle(tenant, estimate, 0, 0)
        raise
    records = [o.record for o in outcomes if o.record is not None]
    limiter.settle(tenant, estimate, len(records), sum(len(value) for _, value in records))
    return outcomes


def _estimated_events(body: bytes, ndjson: bool) -> int:
    """The events of a batch body, without parsing it: its lines, or its `"event_id"` keys (`settle` corrects)."""
    if ndjson:
        return body.count(b"\n") + (not body.endswith(b"\n"))
    return max(1, body.count(b'"event_id"'))


async def _produce(outcomes: list[Outcome], tenant: Tenant, producer: AsyncProducer) -> list[Outcome]:
    """Produce every event still carrying a record (one future for all of them); Kafka's verdict lands on each."""
    ready = [o for o in outcomes if o.record is not None]
    if ready:
        records = [o.record for o in ready if o.record is not None]
        started = time.perf_counter()
        try:
            errors: list[IngestError | None] = list(await producer.send_many(EVENTS_TOPIC, records))
        except IngestError as exc:  # the producer is closed: the process is stopping
            errors = [exc] * len(ready)
        finally:
            GATEWAY_PRODUCE_SECONDS.observe(time.perf_counter() - started)
            GATEWAY_PRODUCER_QUEUE.set(producer.queue_depth())
        failed = 0
        for out, err in zip(ready, errors, strict=True):
            out.record = None
            if err is not None:
                out.status, out.reason = "unavailable", "unavailable"
                out.errors = error("$", "unavailable", str(err))
                out.retry_after_s = getattr(err, "retry_after_s", 1)
                failed += 1
        if failed:
            GATEWAY_DELIVERY_ERRORS.inc(failed)
    _count(outcomes, tenant)
    return outcomes


def _count(outcomes: list[Outcome], tenant: Tenant) -> None:
    """Events by outcome and rejections by reason: one metric update per distinct label, not per event."""
    accepted = sum(1 for o in outcomes if o.status == "accepted")
    if accepted:
        _accepted_counter(tenant.name).inc(accepted)
    if accepted < len(outcomes):
        for status, n in Counter(o.status for o in outcomes if o.status != "accepted").items():
            GATEWAY_EVENTS.labels(tenant.name, status).inc(n)
        for reason, n in Counter(o.reason for o in outcomes if o.status != "accepted").items():
            GATEWAY_REJECTED.labels(tenant.name, reason).inc(n)


@functools.lru_cache(maxsize=1024)
def _accepted_counter(tenant: str) -> Any:
    """The accepted-events counter of a tenant (a labelled child, looked up once)."""
    return GATEWAY_EVENTS.labels(tenant, "accepted")


def _retry_after(outcomes: list[Outcome]) -> dict[str, str]:
    waits = [o.retry_after_s for o in outcomes if o.status == "unavailable"]
    return {"Retry-After": str(max(1, *waits))} if waits else {}


# The event routes take the bare request (no dependency injection on the hot path); the API key headers are
# documented here instead of through `Header` parameters.
@router.post("/events", status_code=202, response_model=None, openapi_extra=SINGLE_OPENAPI, responses=SINGLE_RESPONSES)
async def post_event(request: Request) -> Response:
    """One event (a JSON object). 202 once Kafka acknowledged it."""
    ctx = _Context(request)
    tenant, settings = ctx.tenant, ctx.settings
    media_type(request.headers.get("content-type"), JSON_TYPES)
    body = await _body(request, settings)
    if not body.strip():
        raise _empty("send one event as a JSON object")
    if len(body) > settings.max_event_bytes:
        raise PayloadTooLarge(f"the event is {len(body)} bytes; the limit is {settings.max_event_bytes}")
    checker = Checker(tenant, ctx.edge, settings, datetime.now(UTC))
    [out] = await _admitted(ctx, (1, len(body)), lambda: [validate_single(body, checker, settings)])
    if out.reason == "event_type_forbidden":
        GATEWAY_EVENTS.labels(tenant.name, "rejected").inc()
        GATEWAY_REJECTED.labels(tenant.name, out.reason).inc()
        raise Forbidden(out.errors[0]["message"])
    [out] = await _produce([out], tenant, ctx.producer)
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
async def post_batch(request: Request) -> Response:
    """Many events: a JSON array, or NDJSON (`Content-Type: application/x-ndjson`). Answers per event."""
    ctx = _Context(request)
    settings = ctx.settings
    kind = media_type(request.headers.get("content-type"), JSON_TYPES | NDJSON_TYPES)
    body = await _body(request, settings)
    if not body.strip():
        raise _empty("send a JSON array of events, or NDJSON")
    checker = Checker(ctx.tenant, ctx.edge, settings, datetime.now(UTC))
    ndjson = kind in NDJSON_TYPES
    validate = validate_ndjson if ndjson else validate_array
    # An unlimited tenant's requests are never charged: no need to count their events.
    estimate = (_estimated_events(body, ndjson) if ctx.tenant.limited else 0, len(body))
    # CPU work (~13 µs per event): a large batch is validated off the event loop, so that it does not stall the
    # other requests' I/O for its whole duration.
    offload = len(body) > INLINE_BATCH_BYTES
    outcomes = await _admitted(ctx, estimate, lambda: validate(body, checker, settings), offload=offload)
    outcomes = await _produce(outcomes, ctx.tenant, ctx.producer)
    status, content = batch_answer(outcomes)
    return Response(content, status_code=status, media_type="application/json", headers=_retry_after(outcomes))


def _empty(what: str) -> BadRequest:
    return BadRequest(f"the body is empty; {what}")
