"""Data and contracts for bench/streaming.py: order-like events as the gateway publishes them (envelope plus
`tenant` and `received_at`), shaped like a year of real traffic (`shaped`), a realistic share of them breaking
some rules, and two contracts dirs for the same event type: 50 row rules on `payload.*` (and two envelope
columns) or none at all.

The shape (issue #12): `occurred_at` spread evenly over 365 UTC dates (`window_start`); ~95% of the events are
received seconds after they occurred, ~5% (`LATE_SHARE`) 1 to 14 days after; the records are in arrival order
(by `received_at`, as Kafka holds them), so a late event lands among events that occurred days after it. ~1%
(`DUPLICATE_SHARE`) are a client's re-send of an earlier event (the same envelope, a later `received_at`): a
third right after the original, a third a few thousand records later (the same or the next micro-batch), a
third tens of thousands later (a later micro-batch)."""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml

EVENT_TYPE = "order.created"
TENANT = "bench"
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "PLN", "DKK", "NOK"]
COUNTRIES = ["DE", "FR", "NL", "US", "GB", "CH", "SE", "PL", "DK", "NO", "IT", "ES"]
STATUSES = ["placed", "paid", "packed", "shipped", "delivered"]
CHANNELS = ["web", "app", "store"]
BROKEN_SHARE = 0.07  # events that break at least one rule (about 4/7 of them a quarantine rule, 3/7 only warn)
DUPLICATE_SHARE = 0.01  # events posted twice (a client's re-send): the second copy must go nowhere but bronze
LATE_SHARE = 0.05  # events received days after they occurred
SPAN_DAYS = 365  # the UTC dates `occurred_at` covers
LATE_DAYS = (1, 14)  # how late a late event arrives
# Where a re-send lands after its original, in records: (share, lowest, highest).
RESEND_GAPS = ((1 / 3, 1, 10), (1 / 3, 1_000, 5_000), (1 / 3, 20_000, 100_000))


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rule(rid: str, rule: str, field: str | None = None, severity: str = "quarantine", **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rid, "rule": rule, "severity": severity}
    if field is not None:
        out["field"] = field
    if params:
        out["params"] = params
    return out


def rules_50() -> list[dict[str, Any]]:
    """The 50 row rules: presence and types, ranges, sets, regexes, formats, lengths, timestamps, cross-field."""
    p = "payload."
    w = "warn"
    return [
        _rule("order-id-present", "not_null", p + "order_id"),
        _rule("order-id-string", "is_string", p + "order_id"),
        _rule("order-id-format", "regex_match", p + "order_id", pattern="^A-[0-9]+$"),
        _rule("order-id-length", "length_between", p + "order_id", min=3, max=20),
        _rule("order-id-prefix", "starts_with", p + "order_id", prefix="A-"),
        _rule("customer-present", "not_null", p + "customer_id"),
        _rule("customer-uuid", "uuid", p + "customer_id"),
        _rule("customer-lowercase", "lowercase", p + "customer_id", w),
        _rule("email-format", "email", p + "email", w),
        _rule("email-no-spaces", "regex_not_match", p + "email", w, pattern=r"\s"),
        _rule("email-length", "length_between", p + "email", w, min=3, max=254),
        _rule("email-lowercase", "lowercase", p + "email", w),
        _rule("amount-present", "not_null", p + "amount"),
        _rule("amount-number", "is_number", p + "amount"),
        _rule("amount-range", "between", p + "amount", min=0, max=100000),
        _rule("amount-positive", "positive", p + "amount"),
        _rule("amount-cents", "max_decimals", p + "amount", w, max=2),
        _rule("subtotal-number", "is_number", p + "subtotal"),
        _rule("subtotal-non-negative", "non_negative", p + "subtotal"),
        _rule("tax-non-negative", "non_negative", p + "tax"),
        _rule("tax-capped", "less_or_equal", p + "tax", value=10000),
        _rule("shipping-non-negative", "non_negative", p + "shipping"),
        _rule("shipping-capped", "less_than", p + "shipping", w, value=1000),
        _rule(
            "amount-total",
            "sum_equals",
            None,
            fields=[p + "subtotal", p + "tax", p + "shipping"],
            total=p + "amount",
            tolerance=0.01,
        ),
        _rule("tax-below-subtotal", "field_compare", p + "tax", op="le", other=p + "subtotal"),
        _rule("currency-present", "not_null", p + "currency"),
        _rule("currency-iso", "iso_currency", p + "currency"),
        _rule("currency-accepted", "in_set", p + "currency", values=CURRENCIES),
        _rule("currency-uppercase", "uppercase", p + "currency", w),
        _rule("country-iso", "iso_country", p + "country"),
        _rule("country-not-unknown", "not_in_set", p + "country", values=["XX", "ZZ"]),
        _rule("status-known", "in_set", p + "status", values=STATUSES),
        _rule("status-not-deleted", "not_in_set", p + "status", values=["deleted", "archived"]),
        _rule("status-not-blank", "not_blank", p + "status"),
        _rule("quantity-integer", "is_integer", p + "quantity"),
        _rule("quantity-at-least-one", "greater_or_equal", p + "quantity", value=1),
        _rule("quantity-at-most", "less_or_equal", p + "quantity", w, value=100),
        _rule("sku-format", "regex_match", p + "sku", pattern="^SKU-[0-9]{4}-[A-Z]{2}$"),
        _rule("sku-dash", "contains", p + "sku", substring="-"),
        _rule("channel-known", "in_set", p + "channel", w, values=CHANNELS),
        _rule("client-ip-v4", "ipv4", p + "ip", w),
        _rule("created-at-timestamp", "is_timestamp", p + "created_at"),
        _rule("created-not-in-future", "not_in_future", p + "created_at", skew_seconds=300),
        _rule("created-not-too-old", "not_older_than", p + "created_at", w, max_age_seconds=400 * 86400),
        _rule(
            "created-window",
            "timestamp_between",
            p + "created_at",
            start="2020-01-01T00:00:00Z",
            end="2035-01-01T00:00:00Z",
        ),
        _rule("one-discount-code", "mutually_exclusive", None, fields=[p + "coupon", p + "voucher"]),
        _rule("tags-array", "is_array", p + "tags", w),
        _rule("tags-count", "array_length_between", p + "tags", w, min=1, max=5),
        _rule("occurred-not-in-future", "not_in_future", "occurred_at", w, skew_seconds=300),
        _rule("tenant-present", "not_null", "tenant"),
    ]


def contract(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPE,
        "description": "bench/streaming.py: an order, checked by every rule of the benchmark.",
        "owner": "bench",
        "schema_versions": [1],
        "edge_validation": False,  # the gateway accepts the broken events: judging them is the stream's work
        "rules": rules,
    }


def write_contracts(directory: Path, rules: list[dict[str, Any]]) -> Path:
    """`directory` with `order.created.yaml` (`rules`) and a `_default.yaml` with no rules."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{EVENT_TYPE}.yaml").write_text(yaml.safe_dump(contract(rules), sort_keys=False))
    default = {"event_type": "_default", "description": "no rules", "schema_versions": [1], "rules": []}
    (directory / "_default.yaml").write_text(yaml.safe_dump(default, sort_keys=False))
    return directory


def payload(rng: random.Random, now: datetime) -> dict[str, Any]:
    """A valid order payload (passes all 50 rules)."""
    subtotal = rng.randint(100, 50_000) / 100
    tax = round(subtotal * 0.19, 2)
    shipping = float(rng.choice([0, 4.9, 9.9]))
    out: dict[str, Any] = {
        "order_id": f"A-{rng.randint(1, 10**9)}",
        "customer_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "email": f"u{rng.randint(1, 10**6)}@example.com",
        "amount": round(subtotal + tax + shipping, 2),
        "subtotal": subtotal,
        "tax": tax,
        "shipping": shipping,
        "currency": rng.choice(CURRENCIES),
        "country": rng.choice(COUNTRIES),
        "status": rng.choice(STATUSES),
        "quantity": rng.randint(1, 9),
        "sku": f"SKU-{rng.randint(1000, 9999)}-EU",
        "channel": rng.choice(CHANNELS),
        "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "created_at": _utc(now - timedelta(seconds=rng.randint(0, 600))),
    }
    if rng.random() < 0.2:
        out["coupon"] = f"SAVE{rng.randint(5, 30)}"
    if rng.random() < 0.3:
        out["tags"] = ["gift"]
    return out


# How a broken event breaks its rules: (mutation, blocking). Quarantine-level first, then warn-only.
def _quarantine_breaks(p: dict[str, Any], rng: random.Random) -> None:
    kind = rng.randrange(6)
    if kind == 0:
        p["order_id"] = f"B-{rng.randint(1, 10**6)}"  # order-id-format, order-id-prefix
    elif kind == 1:
        p["currency"] = rng.choice(["EURO", "XXX"])  # currency-iso or currency-accepted
    elif kind == 2:
        p["amount"] = -p["amount"]  # range, positive, total
    elif kind == 3:
        p["voucher"], p["coupon"] = "V-1", "SAVE10"  # one-discount-code
    elif kind == 4:
        p["created_at"] = "2099-01-01T00:00:00Z"  # created-not-in-future
    else:
        p["quantity"] = "3"  # quantity-integer, quantity-at-least-one (a string)


def _warn_breaks(p: dict[str, Any], rng: random.Random) -> None:
    kind = rng.randrange(4)
    if kind == 0:
        p["email"] = "User Name@example"  # email-format, email-no-spaces, email-lowercase
    elif kind == 1:
        p["tags"] = [f"t{i}" for i in range(8)]  # tags-count
    elif kind == 2:
        p["channel"] = "fax"  # channel-known
    else:
        p["ip"] = "999.1.2.3"  # client-ip-v4


def envelope(
    rng: random.Random, now: datetime, event_id: str | None = None, occurred: datetime | None = None
) -> dict[str, Any]:
    """One valid envelope as a client posts it; it occurred at `occurred` (else up to 5 s before `now`)."""
    when = occurred or now - timedelta(milliseconds=rng.randint(0, 5000))
    return {
        "event_id": event_id or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": EVENT_TYPE,
        "schema_version": 1,
        "occurred_at": _utc(when),
        "source": "checkout",
        "key": f"customer-{rng.randint(0, 9999)}",
        "payload": payload(rng, when),
    }


def break_some(event: dict[str, Any], rng: random.Random) -> str:
    """Make `event` break rules with probability BROKEN_SHARE; returns "quarantine", "warn" or "ok"."""
    roll = rng.random()
    if roll < BROKEN_SHARE * 4 / 7:
        _quarantine_breaks(event["payload"], rng)
        return "quarantine"
    if roll < BROKEN_SHARE:
        _warn_breaks(event["payload"], rng)
        return "warn"
    return "ok"


def window_start(now: datetime) -> datetime:
    """Midnight UTC of the first of the SPAN_DAYS dates `occurred_at` covers: the last is LATE_DAYS[1] + 1 days
    before `now`, so that a late event is still received before `now`."""
    last = (now - timedelta(days=LATE_DAYS[1] + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return last - timedelta(days=SPAN_DAYS - 1)


@dataclass(frozen=True)
class Shaped:
    """Envelopes in arrival order: (envelope as the client posts it, received_at, verdict, is a re-send)."""

    events: list[tuple[dict[str, Any], datetime, str, bool]]

    @property
    def distinct(self) -> int:
        return sum(1 for *_, resent in self.events if not resent)

    def count(self, verdict: str) -> int:
        return sum(1 for _, _, v, resent in self.events if v == verdict and not resent)

    @property
    def late(self) -> int:
        return sum(1 for e, received, _, resent in self.events if not resent and received - _occurred(e) > _ONE_DAY)


_ONE_DAY = timedelta(days=1)


def _occurred(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def shaped(n: int, seed: int = 5, now: datetime | None = None) -> Shaped:
    """`n` events shaped like a year of traffic (the module's docstring), about DUPLICATE_SHARE of them re-sends."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = window_start(now)
    span_s = SPAN_DAYS * 86400
    resends = [i for i in range(n) if rng.random() < DUPLICATE_SHARE]
    originals = n - len(resends)
    base: list[tuple[dict[str, Any], datetime, str]] = []
    for i in range(originals):
        occurred = start + timedelta(seconds=(i + rng.random()) * span_s / max(1, originals))
        if rng.random() < LATE_SHARE:
            received = occurred + timedelta(seconds=rng.uniform(LATE_DAYS[0] * 86400, LATE_DAYS[1] * 86400))
        else:
            received = occurred + timedelta(milliseconds=rng.randint(50, 3000))
        event = envelope(rng, occurred, occurred=occurred)
        base.append((event, received, break_some(event, rng)))
    base.sort(key=lambda e: e[1])
    out: list[tuple[dict[str, Any], datetime, str, bool]] = [(e, r, v, False) for e, r, v in base]
    # Each re-send goes `gap` records after its original; its received_at is that of the record it follows.
    for _ in resends:
        j = rng.randrange(len(base))
        roll, gap = rng.random(), 1
        for share, low, high in RESEND_GAPS:
            if roll < share:
                gap = rng.randint(low, high)
                break
            roll -= share
        at = min(len(out), j + gap)
        received = out[at - 1][1] + timedelta(microseconds=1)
        event, _, verdict = base[j]
        out.insert(at, (event, received, verdict, True))
    return Shaped(out)


@dataclass(frozen=True)
class Dataset:
    records: list[tuple[bytes, bytes]]  # (key, value) as the gateway publishes them, re-sends included
    distinct: int
    broken_quarantine: int
    broken_warn: int
    duplicates: int
    late: int = 0

    @property
    def mean_bytes(self) -> float:
        return sum(len(v) for _, v in self.records) / max(1, len(self.records))


def dataset(n: int, seed: int = 5) -> Dataset:
    """`n` Kafka records of `shaped` events, stamped as the gateway stamps them (`tenant`, `received_at`)."""
    data = shaped(n, seed)
    records: list[tuple[bytes, bytes]] = []
    for event, received, _, _ in data.events:
        stamped = {**event, "tenant": TENANT, "received_at": _utc(received)}
        records.append((event["key"].encode(), orjson.dumps(stamped)))
    return Dataset(records, data.distinct, data.count("quarantine"), data.count("warn"), n - data.distinct, data.late)
