"""`POST /v1/events`: one event, validated, stamped with tenant and `received_at`, acknowledged by Kafka."""

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from gateway.deps import ProducerDep, SettingsDep, TenantDep
from gateway.exceptions import BadRequest, PayloadTooLarge
from gateway.responses import JSON
from ingest.envelope import EventEnvelope, envelope_error_list, stamp
from ingest.exceptions import BrokerUnavailable
from ingest.topics import EVENTS_TOPIC
from observability.metrics import GATEWAY_EVENTS, GATEWAY_PRODUCE_SECONDS

router = APIRouter(prefix="/v1", tags=["events"])

_EXAMPLE = {
    "event_id": "0b7c2e4e-5d2f-4a53-9d1e-8f6c1c2b9a10",
    "event_type": "order.created",
    "schema_version": 1,
    "occurred_at": "2026-11-25T10:00:00Z",
    "source": "checkout",
    "key": "customer-42",
    "payload": {"order_id": "A-1001", "amount": 42.5, "currency": "EUR"},
}

_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/EventEnvelope"},
                "example": _EXAMPLE,
            }
        },
    }
}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Kafka acknowledged the event (acks=all).",
        "content": {"application/json": {"example": {"status": "accepted", "event_id": _EXAMPLE["event_id"]}}},
    },
    400: {"description": "The body is not JSON."},
    401: {"description": "No valid API key."},
    413: {"description": "The body is larger than the limit."},
    422: {"description": "The envelope is invalid; `errors` names each field path."},
    503: {"description": "Kafka could not take or acknowledge the write; retry after `Retry-After` seconds."},
}


@router.post("/events", status_code=202, openapi_extra=_OPENAPI, responses=_RESPONSES)
async def post_event(request: Request, tenant: TenantDep, producer: ProducerDep, settings: SettingsDep) -> JSON:
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"the body is {len(body)} bytes; the limit is {settings.max_body_bytes}")
    if not body.strip():
        raise BadRequest("the body is empty; send one event as a JSON object")
    try:
        # orjson is strict RFC 8259: NaN, Infinity, invalid UTF-8 and out-of-range integers are refused here,
        # so nothing reaches Kafka in a form that would not read back the same.
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    try:
        envelope = EventEnvelope.model_validate_json(body)
    except ValidationError as exc:
        errors = envelope_error_list(exc)
        GATEWAY_EVENTS.labels(tenant, "rejected").inc()
        return JSON({"status": "rejected", "errors": errors}, status_code=422)
    key, value = stamp(envelope, tenant=tenant, received_at=datetime.now(UTC))
    started = time.perf_counter()
    try:
        await producer.send(EVENTS_TOPIC, key, value)
    except BrokerUnavailable as exc:
        GATEWAY_EVENTS.labels(tenant, "unavailable").inc()
        return JSON(
            {"status": "unavailable", "event_id": str(envelope.event_id), "error": str(exc)},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    finally:
        GATEWAY_PRODUCE_SECONDS.observe(time.perf_counter() - started)
    GATEWAY_EVENTS.labels(tenant, "accepted").inc()
    return JSON({"status": "accepted", "event_id": str(envelope.event_id)}, status_code=202)
