"""Per-event validation for the event routes: the envelope (a plain fast path for the common case, pydantic
for anything else and for the error paths), the tenant's event types, the contract's edge rules; the Kafka
(key, value) of each event that passed. Pure CPU work, no I/O: the batch route runs it off the event loop."""

from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from gateway.body import InvalidJSON, ndjson_lines, parse_items, parse_json, parse_or_400
from gateway.edge import EdgeValidator
from gateway.exceptions import BadRequest, PayloadTooLarge
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant
from ingest.envelope import EventEnvelope, envelope_error_list, fast_record, record_key, to_record, utc_text
from observability.metrics import GATEWAY_EDGE_WARNINGS


class Outcome:
    """One event's fate. `record` is its Kafka (key, value) while it is on its way to be produced."""

    __slots__ = ("errors", "event_id", "index", "reason", "record", "retry_after_s", "status")

    def __init__(self, index: int, event_id: str | None = None) -> None:
        self.index = index
        self.event_id = event_id
        self.status = "accepted"
        self.errors: list[dict[str, Any]] = []
        self.reason = ""
        self.record: tuple[bytes, bytes] | None = None
        self.retry_after_s = 0

    def reject(self, reason: str, errors: list[dict[str, Any]]) -> "Outcome":
        self.status, self.reason, self.errors, self.record = "rejected", reason, errors, None
        return self

    def result(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "status": self.status, "errors": self.errors}


def error(path: str, kind: str, message: str) -> list[dict[str, Any]]:
    return [{"path": path, "type": kind, "message": message}]


class Checker:
    """Validates the events of one request (one tenant, one receipt time)."""

    __slots__ = ("edge", "received_at", "received_text", "settings", "tenant")

    def __init__(self, tenant: Tenant, edge: EdgeValidator, settings: GatewaySettings, received_at: datetime) -> None:
        self.tenant = tenant
        self.edge = edge
        self.settings = settings
        self.received_at = received_at
        self.received_text = utc_text(received_at)

    def check(self, out: Outcome, raw: bytes, item: Any) -> Outcome:
        """Validate one event, given as its JSON bytes and its parsed value; fills `out`."""
        if type(item) is not dict:
            return out.reject("envelope", error("$", "not_an_object", "an event is a JSON object"))
        event_id = item.get("event_id")
        if type(event_id) is str:
            out.event_id = event_id
        if len(raw) > self.settings.max_event_bytes:
            limit = self.settings.max_event_bytes
            return out.reject("too_large", error("$", "too_large", f"the event is over {limit} bytes"))
        tenant = self.tenant
        record = fast_record(item, tenant=tenant.name, received_at=self.received_text)
        if record is None:
            try:
                envelope = EventEnvelope.model_validate_json(raw)
            except ValidationError as exc:
                return out.reject("envelope", envelope_error_list(exc))
            record = to_record(envelope, tenant=tenant.name, received_at=self.received_at)
        out.event_id = record["event_id"]
        event_type = record["event_type"]
        if not tenant.allows(event_type):
            message = f"tenant {tenant.name!r} may not post events of type {event_type!r}"
            return out.reject("event_type_forbidden", error("event_type", "forbidden", message))
        errors, warnings = self.edge.check(record, self.received_at)
        if errors:
            return out.reject("contract", errors)
        for rule in warnings:
            GATEWAY_EDGE_WARNINGS.labels(tenant.name, rule).inc()
        out.record = (record_key(record), orjson.dumps(record))
        return out


def too_many(count: int, settings: GatewaySettings) -> PayloadTooLarge:
    return PayloadTooLarge(f"the batch has {count} events; the limit is {settings.max_batch_events}")


def validate_array(body: bytes, checker: Checker, settings: GatewaySettings) -> list[Outcome]:
    """The events of a JSON array body; 400/413 for the body as a whole, per-event outcomes otherwise."""
    # The array adds one level; an event nesting too deep is rejected alone, below.
    try:
        items, depths = parse_items(body, max(settings.max_json_depth + 1, 512))
    except InvalidJSON as exc:
        raise BadRequest(f"the body is not acceptable JSON: {exc}") from None
    if not isinstance(items, list) or depths is None:
        raise BadRequest("a batch is a JSON array of events (or NDJSON with Content-Type application/x-ndjson)")
    if len(items) > settings.max_batch_events:
        raise too_many(len(items), settings)
    max_depth = settings.max_json_depth
    outcomes: list[Outcome] = []
    append = outcomes.append
    for index, item in enumerate(items):
        out = Outcome(index)
        if depths[index] > max_depth:
            append(out.reject("too_deep", error("$", "too_deep", f"the event nests over {max_depth} levels")))
            continue
        append(checker.check(out, orjson.dumps(item), item))
    return outcomes


def validate_ndjson(body: bytes, checker: Checker, settings: GatewaySettings) -> list[Outcome]:
    """The events of an NDJSON body, one per non-blank line."""
    lines = ndjson_lines(body)
    if len(lines) > settings.max_batch_events:
        raise too_many(len(lines), settings)
    outcomes: list[Outcome] = []
    for index, line in enumerate(lines):
        out = Outcome(index)
        if len(line) > settings.max_event_bytes:
            limit = settings.max_event_bytes
            outcomes.append(out.reject("too_large", error("$", "too_large", f"the event is over {limit} bytes")))
            continue
        try:
            item = parse_json(line, settings.max_json_depth)
        except InvalidJSON as exc:
            outcomes.append(out.reject(exc.reason, error("$", exc.reason, str(exc))))
            continue
        outcomes.append(checker.check(out, line, item))
    return outcomes


def validate_single(body: bytes, checker: Checker, settings: GatewaySettings) -> Outcome:
    """The one event of a `POST /v1/events` body (400 for unparseable JSON)."""
    return checker.check(Outcome(0), body, parse_or_400(body, settings.max_json_depth))
