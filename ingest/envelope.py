"""The event envelope of ../shared/CONTRACT.md, validated with pydantic, and the record Weir puts on Kafka.

`event_id` is the idempotency key end to end; it is normalised to the lowercase hyphenated UUID form so that
the same id spelled twice is one id. `occurred_at` must carry an offset and is normalised to UTC.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_.-]{0,127}$"


class EventEnvelope(BaseModel):
    """One event as a client sends it. Unknown top-level fields are refused (a typo must not vanish), and
    so are `tenant` and `received_at`: the gateway stamps those."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[UUID, Field(strict=False, description="UUID; the idempotency key end to end.")]
    event_type: Annotated[str, Field(strict=True, pattern=EVENT_TYPE_PATTERN, examples=["order.created"])]
    schema_version: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 1
    occurred_at: Annotated[
        AwareDatetime,
        Field(strict=True, description="RFC 3339 timestamp with an offset.", examples=["2026-11-25T10:00:00Z"]),
    ]
    source: Annotated[str | None, Field(strict=True, max_length=256)] = None
    key: Annotated[str | None, Field(strict=True, min_length=1, max_length=1024)] = None
    payload: Annotated[dict[str, Any], Field(strict=True)]


def envelope_error_list(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as `{"path": "payload.x", "message": ...}` for HTTP answers (no input echoed)."""
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(p) for p in err["loc"])
        out.append({"path": path or "$", "type": err["type"], "message": err["msg"]})
    return out


def to_record(envelope: EventEnvelope, *, tenant: str, received_at: datetime) -> dict[str, Any]:
    """The record Weir publishes: the envelope plus `tenant` and `received_at` (timestamps UTC, microseconds,
    `Z`). The gateway's edge validation evaluates contract rules on exactly this record."""
    return {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "occurred_at": _utc(envelope.occurred_at),
        "source": envelope.source,
        "key": envelope.key,
        "payload": envelope.payload,
        "tenant": tenant,
        "received_at": _utc(received_at),
    }


def kafka_key(envelope: EventEnvelope) -> bytes:
    """The partition key: the event's `key`, else its `event_id`."""
    return (envelope.key or str(envelope.event_id)).encode()


def stamp(envelope: EventEnvelope, *, tenant: str, received_at: datetime) -> tuple[bytes, bytes]:
    """The Kafka (key, value) for an accepted event: key = the event's `key` or else its `event_id`; value =
    the envelope as JSON plus `tenant` and `received_at` (both UTC, microseconds, `Z`)."""
    return kafka_key(envelope), orjson.dumps(to_record(envelope, tenant=tenant, received_at=received_at))


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
