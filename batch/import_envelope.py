"""One imported row's envelope, checked as the gateway checks a posted event (`ingest.envelope`: the plain fast
path, else `EventEnvelope` on the row's JSON, whose errors name the field), then stamped as the gateway stamps
it: `tenant` (the import's, never the file's) and `received_at` (the row's own when it has one, else the import
time). The stamped record's JSON is what the gateway would have published, and so the record's `raw` in bronze.
"""

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from ingest.envelope import OCCURRED_AT_PATTERN, EventEnvelope, envelope_error_list, fast_record, to_record, utc_text

_RFC3339 = re.compile(OCCURRED_AT_PATTERN, re.ASCII)
RECEIVED_AT_MESSAGE = "received_at is not an RFC 3339 timestamp with an offset, like 2026-11-25T10:00:00.123Z"


# The columns of a CSV or Parquet file: the envelope's fields, plus the two the gateway stamps (see
# docs/batch/import.md: `received_at` is kept, `tenant` is ignored).
COLUMNS = ("event_id", "event_type", "schema_version", "occurred_at", "source", "key", "payload")
REQUIRED = ("event_id", "event_type", "occurred_at", "payload")
STAMPED = ("tenant", "received_at")


class RecordError(Exception):
    """A row the gateway would refuse; the message names the field(s) and says why."""


class LineError(Exception):
    """A bad line (or row) `number` of a file; the reader that knows the file names it."""

    def __init__(self, number: int, message: str) -> None:
        super().__init__(message)
        self.number = number
        self.message = message


def check_columns(names: list[str], number: int) -> None:
    """The header of a CSV file, or the columns of a Parquet file: every required column, no unknown or
    repeated one (a misspelt column must not vanish, as the gateway refuses an unknown field)."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise LineError(number, f"repeated column(s): {', '.join(repeated)}")
    unknown = [n for n in names if n not in COLUMNS and n not in STAMPED]
    if unknown:
        raise LineError(number, f"unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS + STAMPED)})")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise LineError(number, f"missing required column(s): {', '.join(missing)}")


def timestamp_text(field: str, value: object) -> str:
    """A timestamp cell as RFC 3339 text: text as it is (the envelope checks it), an aware datetime (a Parquet
    timestamp with a time zone) in UTC; a timestamp without a time zone has no offset and is refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise RecordError(f"{field}: a timestamp without a time zone (RFC 3339 needs an offset)")
        return utc_text(value)
    if isinstance(value, str):
        return value
    raise RecordError(f"{field}: not a timestamp (found {type(value).__name__})")


def _received_at(value: object, imported_at: datetime) -> datetime:
    if value is None:
        return imported_at
    text = timestamp_text("received_at", value)
    try:
        if _RFC3339.fullmatch(text) is None:
            raise ValueError(text)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise RecordError(f"received_at: {RECEIVED_AT_MESSAGE}") from None
    return parsed.astimezone(UTC)


def describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['path']}: {e['message']}" for e in errors)


def stamp_record(item: dict[str, Any], *, tenant: str, imported_at: datetime) -> bytes:
    """The JSON of the record the gateway would publish for `item` (a decoded JSON object), or `RecordError`
    when the gateway would refuse it. `tenant` and `received_at` in `item` are the stamp's, not the envelope's
    (which forbids them): the file's `tenant` is ignored."""
    fields = dict(item)
    fields.pop("tenant", None)
    received = _received_at(fields.pop("received_at", None), imported_at)
    if isinstance(fields.get("occurred_at"), datetime):
        fields["occurred_at"] = timestamp_text("occurred_at", fields["occurred_at"])
    record = fast_record(fields, tenant=tenant, received_at=utc_text(received))
    if record is None:
        try:
            raw = orjson.dumps(fields)
        except TypeError as exc:
            raise RecordError(f"$: a value JSON cannot represent ({exc})") from None
        try:
            envelope = EventEnvelope.model_validate_json(raw)
        except ValidationError as exc:
            raise RecordError(describe(envelope_error_list(exc))) from None
        record = to_record(envelope, tenant=tenant, received_at=received)
    return orjson.dumps(record)
