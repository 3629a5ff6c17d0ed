"""The event envelope of ../shared/CONTRACT.md, validated with pydantic, and the record Weir puts on Kafka.

`event_id` is the idempotency key end to end; it is normalised to the lowercase hyphenated UUID form so that
the same id spelled twice is one id. `occurred_at` must carry an offset and is normalised to UTC.

The envelope's patterns (`EVENT_ID_PATTERN`, `EVENT_TYPE_PATTERN`, `OCCURRED_AT_PATTERN`, anchor-free, from
`quality.rules.patterns`) are its one definition: the gateway checks them here, the stream and batch jobs check
the same ones on what they read from Kafka (anchored with Java's `\\z`, so a trailing newline never passes).

`fast_record` is the hot path for the common case: an envelope already in the normal form (decoded JSON) is
checked with plain comparisons and turned into its record without building a model; anything it is not sure
of goes to `EventEnvelope`, which decides and names the errors.
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from quality.rules import patterns

# The normal form of `event_id` on Kafka (the gateway accepts any UUID spelling and writes this one).
EVENT_ID_PATTERN = patterns.CANONICAL_UUID
EVENT_TYPE_PATTERN = patterns.EVENT_TYPE
# RFC 3339 with an offset: `T` or a space, seconds, at most 6 fraction digits, `Z` or `+hh:mm`/`-hh:mm`.
OCCURRED_AT_PATTERN = patterns.RFC3339
OCCURRED_AT_MESSAGE = "occurred_at is not an RFC 3339 timestamp with an offset, like 2026-11-25T10:00:00.123Z"


def _whole(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


_EVENT_ID = _whole(EVENT_ID_PATTERN)
_EVENT_TYPE = _whole(EVENT_TYPE_PATTERN)
_OCCURRED_AT = _whole(OCCURRED_AT_PATTERN)


class EventEnvelope(BaseModel):
    """One event as a client sends it. Unknown top-level fields are refused (a typo must not vanish), and
    so are `tenant` and `received_at`: the gateway stamps those."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[UUID, Field(strict=False, description="UUID; the idempotency key end to end.")]
    event_type: Annotated[str, Field(strict=True, pattern=f"^(?:{EVENT_TYPE_PATTERN})$", examples=["order.created"])]
    schema_version: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 1
    occurred_at: Annotated[
        AwareDatetime,
        # Lax, so that the text `_rfc3339` let through is parsed; anything but RFC 3339 text is refused there.
        Field(
            strict=False,
            description="RFC 3339 timestamp with an offset.",
            examples=["2026-11-25T10:00:00Z"],
            json_schema_extra={"pattern": f"^(?:{OCCURRED_AT_PATTERN})$"},
        ),
    ]
    source: Annotated[str | None, Field(strict=True, max_length=256)] = None
    key: Annotated[str | None, Field(strict=True, min_length=1, max_length=1024)] = None
    payload: Annotated[dict[str, Any], Field(strict=True)]

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        """Only RFC 3339 text (pydantic alone also takes `2026-11-25T10:00Z`, `+0100`, 7 fraction digits, and,
        lax, a number of seconds)."""
        if not isinstance(value, str) or _OCCURRED_AT.fullmatch(value) is None:
            raise ValueError(OCCURRED_AT_MESSAGE)
        return value


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


def utc_text(ts: datetime) -> str:
    """An aware timestamp as Weir writes it: UTC, microseconds, `Z`."""
    return _utc(ts)


def _utc(ts: datetime) -> str:
    """RFC 3339 in UTC: the year always in 4 digits (isoformat pads it; strftime's %Y does not below 1000)."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


_FIELDS = frozenset(EventEnvelope.model_fields)
# What the fast path takes without asking pydantic: the envelope's patterns, an id already in its normal form
# and a timestamp written with `T`. Everything else goes to the model.


def _normal_utc(text: str, parsed: datetime) -> str:
    """`_utc(parsed)`; a timestamp already in UTC with 6 fraction digits is its own spelling."""
    if len(text) == 27 and text[26] == "Z":  # 2026-11-25T10:00:00.123456Z
        return text
    if len(text) == 32 and text.endswith("+00:00"):  # 2026-11-25T10:00:00.123456+00:00
        return text[:26] + "Z"
    return _utc(parsed)


def fast_record(item: dict[str, Any], *, tenant: str, received_at: str) -> dict[str, Any] | None:
    """The record `to_record` makes for `item` (a decoded JSON object) when `item` is plainly a valid
    envelope, without pydantic; None when it is not plainly valid (then `EventEnvelope` decides). Accepts only
    what the model accepts, and gives the same record; `received_at` is already in `utc_text` form."""
    if not item.keys() <= _FIELDS:
        return None
    event_id = item.get("event_id")
    event_type = item.get("event_type")
    occurred_at = item.get("occurred_at")
    payload = item.get("payload")
    version = item.get("schema_version", 1)
    source = item.get("source")
    key = item.get("key")
    if (
        type(event_id) is not str
        or type(event_type) is not str
        or type(occurred_at) is not str
        or type(payload) is not dict
        or type(version) is not int
        or not 1 <= version <= 1_000_000
        or (source is not None and (type(source) is not str or len(source) > 256))
        or (key is not None and (type(key) is not str or not 1 <= len(key) <= 1024))
        or _EVENT_ID.fullmatch(event_id) is None
        or _EVENT_TYPE.fullmatch(event_type) is None
        or _OCCURRED_AT.fullmatch(occurred_at) is None
        or occurred_at[10] != "T"
    ):
        return None
    try:
        occurred = _normal_utc(occurred_at, datetime.fromisoformat(occurred_at))
    except (ValueError, OverflowError):
        return None
    return {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": occurred,
        "source": source,
        "key": key,
        "payload": payload,
        "tenant": tenant,
        "received_at": received_at,
    }


def record_key(record: dict[str, Any]) -> bytes:
    """`kafka_key` of a record: its `key`, else its `event_id`."""
    return str(record["key"] or record["event_id"]).encode()
