"""A JSON response rendered with orjson (FastAPI's ORJSONResponse is deprecated), and the OpenAPI documentation
of the event routes (request bodies and an example of each answer), shown at /docs."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from gateway.validate import Outcome


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def batch_answer(outcomes: "Sequence[Outcome]") -> tuple[int, bytes]:
    """A batch's status code and JSON body: counts by status, then every event's result, in order."""
    counts = {"accepted": 0, "rejected": 0, "unavailable": 0}
    for out in outcomes:
        counts[out.status] += 1
    answer = {**counts, "results": [out.result() for out in outcomes]}
    if counts["accepted"] == len(outcomes):
        status = 202
    elif counts["accepted"]:
        status = 207
    elif counts["unavailable"]:
        status = 503
    else:
        status = 422
    return status, orjson.dumps(answer)


class ErrorAnswer(BaseModel):
    error: str


class EventAnswer(BaseModel):
    """One event's answer (`POST /v1/events`)."""

    status: str
    event_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    error: str | None = None


class EventResult(BaseModel):
    index: int
    event_id: str | None
    status: str
    errors: list[dict[str, Any]]


class BatchAnswer(BaseModel):
    accepted: int
    rejected: int
    unavailable: int
    results: list[EventResult]


_RETRY = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}

EXAMPLE: dict[str, Any] = {
    "event_id": "0b7c2e4e-5d2f-4a53-9d1e-8f6c1c2b9a10",
    "event_type": "order.created",
    "schema_version": 1,
    "occurred_at": "2026-11-25T10:00:00Z",
    "source": "checkout",
    "key": "customer-42",
    "payload": {"order_id": "A-1001", "amount": 42.5, "currency": "EUR"},
}
_SECOND = {**EXAMPLE, "event_id": "5f0e8a4c-3b7d-4c1e-9a2f-6d8b1c0e7f21", "payload": {"order_id": "B-7"}}
_ENVELOPE = {"$ref": "#/components/schemas/EventEnvelope"}
_GZIP = "`Content-Encoding: gzip` is accepted; limits apply to the body as sent and as decompressed."


def _json(example: Any) -> dict[str, Any]:
    return {"application/json": {"example": example}}


def _typed(responses: dict[int | str, dict[str, Any]], model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """Every answer gets a schema: `model` for the per-event ones, `ErrorAnswer` for the others."""
    out: dict[int | str, dict[str, Any]] = {}
    for code, spec in responses.items():
        per_event = code in (202, 207, 422, 503) or code == "202"
        retry = {"headers": _RETRY} if code in (429, 503, 207) else {}
        out[code] = {"model": model if per_event else ErrorAnswer, **retry, **spec}
    return out


_ERR = {"error": "the body is not acceptable JSON: an object has a duplicate key"}
_COMMON: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Unparseable body: malformed JSON, invalid UTF-8 or gzip, NaN/Infinity, duplicate keys, "
        "integers beyond 64 bits, nesting too deep, empty body.",
        "content": _json(_ERR),
    },
    401: {"description": "No valid API key.", "content": _json({"error": "a valid API key is required"})},
    413: {
        "description": "Body, decompressed body, event or batch over its limit.",
        "content": _json({"error": "the body is over the limit of 1048576 bytes"}),
    },
    415: {
        "description": "Wrong Content-Type or Content-Encoding.",
        "content": _json({"error": "Content-Type 'text/plain' is not accepted here; send application/json"}),
    },
    429: {
        "description": "The tenant is over its rate; nothing was produced. Retry after `Retry-After` seconds.",
        "content": _json({"error": "tenant 'acme' is over its rate; retry after 2s"}),
    },
}


def _header(name: str, description: str) -> dict[str, Any]:
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "title": name.title()}
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema}


# The API key, as a request may carry it (the event routes read these headers themselves).
AUTH_PARAMETERS = [
    _header("x-api-key", "The tenant's API key."),
    _header("authorization", "`Bearer <API key>`, when `X-API-Key` is not sent."),
]

SINGLE_OPENAPI: dict[str, Any] = {
    "parameters": AUTH_PARAMETERS,
    "requestBody": {
        "required": True,
        "description": f"One event envelope. {_GZIP}",
        "content": {"application/json": {"schema": _ENVELOPE, "example": EXAMPLE}},
    },
}
_REJECTED = {
    "status": "rejected",
    "event_id": _SECOND["event_id"],
    "errors": [
        {
            "path": "payload.order_id",
            "type": "contract_rule",
            "rule": "order-id-format",
            "severity": "quarantine",
            "message": "payload.order_id must match ^A-[0-9]+$",
        }
    ],
}
SINGLE_RESPONSES: dict[int | str, dict[str, Any]] = {  # typed below
    202: {
        "description": "Kafka acknowledged the event (acks=all).",
        "content": _json({"status": "accepted", "event_id": EXAMPLE["event_id"]}),
    },
    **_COMMON,
    403: {
        "description": "The tenant may not post this event type.",
        "content": _json({"error": "tenant 'acme' may not post events of type 'order.created'"}),
    },
    422: {
        "description": "Invalid envelope (`errors` name each field path) or a blocking contract rule broken "
        "(`errors` name the rule ids).",
        "content": _json(_REJECTED),
    },
    503: {
        "description": "Kafka could not take or acknowledge the write; retry after `Retry-After` seconds.",
        "content": _json(
            {
                "status": "unavailable",
                "event_id": EXAMPLE["event_id"],
                "error": "kafka did not acknowledge the write: Local: Message timed out",
                "errors": [{"path": "$", "type": "unavailable", "message": "…"}],
            }
        ),
    },
}

_RESULT_OK = {"index": 0, "event_id": EXAMPLE["event_id"], "status": "accepted", "errors": []}
_RESULT_BAD = {"index": 1, **{k: v for k, v in _REJECTED.items() if k != "status"}, "status": "rejected"}
_RESULT_DOWN = {**_RESULT_OK, "status": "unavailable", "errors": [{"path": "$", "type": "unavailable", "message": "…"}]}
_NDJSON = (orjson.dumps(EXAMPLE) + b"\n" + orjson.dumps(_SECOND) + b"\n").decode()
BATCH_OPENAPI: dict[str, Any] = {
    "parameters": AUTH_PARAMETERS,
    "requestBody": {
        "required": True,
        "description": f"A JSON array of events, or NDJSON (one event per line). {_GZIP}",
        "content": {
            "application/json": {"schema": {"type": "array", "items": _ENVELOPE}, "example": [EXAMPLE, _SECOND]},
            "application/x-ndjson": {"schema": {"type": "string"}, "example": _NDJSON},
        },
    },
}
BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {  # typed below
    202: {
        "description": "Every event was acknowledged by Kafka.",
        "content": _json({"accepted": 1, "rejected": 0, "unavailable": 0, "results": [_RESULT_OK]}),
    },
    207: {
        "description": "Some events were accepted; the others were rejected (see `errors`) or are `unavailable` "
        "(Kafka did not acknowledge them: retry those, after `Retry-After`).",
        "content": _json({"accepted": 1, "rejected": 1, "unavailable": 0, "results": [_RESULT_OK, _RESULT_BAD]}),
    },
    **_COMMON,
    422: {
        "description": "No event was accepted; every one was rejected.",
        "content": _json({"accepted": 0, "rejected": 1, "unavailable": 0, "results": [{**_RESULT_BAD, "index": 0}]}),
    },
    503: {
        "description": "No event was accepted and Kafka acknowledged none of the valid ones; retry after "
        "`Retry-After` seconds.",
        "content": _json({"accepted": 0, "rejected": 0, "unavailable": 1, "results": [_RESULT_DOWN]}),
    },
}

SINGLE_RESPONSES = _typed(SINGLE_RESPONSES, EventAnswer)
BATCH_RESPONSES = _typed(BATCH_RESPONSES, BatchAnswer)
