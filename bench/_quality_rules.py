"""The benchmark's 50 checks, each written twice: as a Weir contract rule (on the typed top-level columns of
`_quality_data`) and as the closest Great Expectations expectation. Where GX has no equivalent, the GX side
is a regex, a between or (for arithmetic GX cannot express) an `UnexpectedRowsExpectation` SQL query doing
comparable work; bench/README.md lists the mapping and its differences."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from bench._gx import GxSpec
from bench._quality_data import CURRENCIES, STATUSES
from quality.rules import format_patterns, iso_codes, patterns


def _whole(pattern: str) -> str:
    return "^(?:" + pattern + ")$"


# The GX side matches the very patterns and code lists the Weir rules use, anchored for Spark's `rlike`.
EMAIL = _whole(format_patterns.EMAIL)
UUID = _whole(format_patterns.UUID)
E164 = _whole(format_patterns.E164_PHONE)
IPV4 = _whole(format_patterns.IPV4)
URL_SCHEMES = ["https", "http"]
URL = _whole(format_patterns.url(URL_SCHEMES))
RFC3339 = _whole(patterns.RFC3339)
ISO_CURRENCIES = sorted(iso_codes.CURRENCIES)
ISO_COUNTRIES = sorted(iso_codes.COUNTRIES)


@dataclass(frozen=True)
class Check:
    id: str
    rule: str
    field: str | None
    params: dict[str, Any]
    gx: GxSpec

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "rule": self.rule}
        if self.field is not None:
            out["field"] = self.field
        if self.params:
            out["params"] = self.params
        return out


def _gx(kind: str, **kwargs: Any) -> GxSpec:
    return GxSpec(kind if kind.startswith("Unexpected") else "Expect" + kind, kwargs)


def _not_null(column: str, **kwargs: Any) -> GxSpec:
    return _gx("ColumnValuesToNotBeNull", column=column, **kwargs)


def _rx(column: str, regex: str) -> GxSpec:
    return _gx("ColumnValuesToMatchRegex", column=column, regex=regex)


def _not_rx(column: str, regex: str) -> GxSpec:
    return _gx("ColumnValuesToNotMatchRegex", column=column, regex=regex)


def _lengths(column: str, low: int, high: int | None = None) -> GxSpec:
    return _gx("ColumnValueLengthsToBeBetween", column=column, min_value=low, max_value=high)


def _range(column: str, low: Any = None, high: Any = None, **strict: bool) -> GxSpec:
    return _gx("ColumnValuesToBeBetween", column=column, min_value=low, max_value=high, **strict)


def _in(column: str, values: list[str]) -> GxSpec:
    return _gx("ColumnValuesToBeInSet", column=column, value_set=values)


def _not_in(column: str, values: list[str]) -> GxSpec:
    return _gx("ColumnValuesToNotBeInSet", column=column, value_set=values)


def _type(column: str, type_: str) -> GxSpec:
    return _gx("ColumnValuesToBeOfType", column=column, type_=type_)


def _sql(where: str) -> GxSpec:
    query = "SELECT * FROM {batch} WHERE " + where  # noqa: S608  (fixed conditions written below)
    return _gx("UnexpectedRowsExpectation", unexpected_rows_query=query)


def checks(now: datetime) -> list[Check]:
    """The 50 checks; `now` is the instant both tools judge "future" and "older than" against."""
    utc = now.astimezone(UTC).replace(tzinfo=None)  # GX compares with naive (UTC) datetimes
    max_age = 10 * 365 * 86_400
    skew = 300
    start, end = "2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"
    bad_status, test_currencies = ["deleted", "archived"], ["XXX", "XTS"]
    c = Check
    return [
        # identifiers
        c("order-id-present", "not_null", "order_id", {}, _not_null("order_id")),
        c("order-id-format", "regex_match", "order_id", {"pattern": "^A-[0-9]+$"}, _rx("order_id", "^A-[0-9]+$")),
        c("order-id-length", "length_between", "order_id", {"min": 3, "max": 20}, _lengths("order_id", 3, 20)),
        c("event-id-present", "not_null", "event_id", {}, _not_null("event_id")),
        c("event-id-uuid", "uuid", "event_id", {}, _rx("event_id", UUID)),
        # contact
        c("email-format", "email", "customer_email", {}, _rx("customer_email", EMAIL)),
        c(
            "email-domain",
            "ends_with",
            "customer_email",
            {"suffix": "@example.com"},
            _rx("customer_email", r"@example\.com$"),
        ),
        c("email-no-spaces", "regex_not_match", "customer_email", {"pattern": r"\s"}, _not_rx("customer_email", r"\s")),
        c("name-not-blank", "not_blank", "customer_name", {}, _rx("customer_name", r"\S")),
        c("name-trimmed", "trimmed", "customer_name", {}, _not_rx("customer_name", r"^\s|\s$")),
        c(
            "name-no-control-chars",
            "no_control_chars",
            "customer_name",
            {},
            _not_rx("customer_name", r"[\x00-\x1f\x7f-\x9f]"),
        ),
        c("name-length", "length_between", "customer_name", {"min": 1, "max": 100}, _lengths("customer_name", 1, 100)),
        c("phone-e164", "e164_phone", "phone", {}, _rx("phone", E164)),
        c("client-ip-v4", "ipv4", "client_ip", {}, _rx("client_ip", IPV4)),
        c("page-url", "url", "page_url", {"schemes": URL_SCHEMES}, _rx("page_url", URL)),
        c("page-url-https", "starts_with", "page_url", {"prefix": "https://"}, _rx("page_url", "^https://")),
        # product and status
        c("sku-string", "is_string", "sku", {}, _type("sku", "StringType")),
        c("sku-region", "ends_with", "sku", {"suffix": "-EU"}, _rx("sku", "-EU$")),
        c("sku-dash", "contains", "sku", {"substring": "-"}, _rx("sku", "-")),
        c("status-known", "in_set", "status", {"values": STATUSES}, _in("status", STATUSES)),
        c("status-not-deleted", "not_in_set", "status", {"values": bad_status}, _not_in("status", bad_status)),
        c("status-not-empty", "not_empty", "status", {}, _lengths("status", 1)),
        c("note-length", "length_between", "note", {"min": 1, "max": 500}, _lengths("note", 1, 500)),
        # money
        c("currency-iso", "iso_currency", "currency", {}, _in("currency", ISO_CURRENCIES)),
        c("currency-accepted", "in_set", "currency", {"values": CURRENCIES}, _in("currency", CURRENCIES)),
        c(
            "currency-not-test",
            "not_in_set",
            "currency",
            {"values": test_currencies},
            _not_in("currency", test_currencies),
        ),
        c("country-iso", "iso_country", "country", {}, _in("country", ISO_COUNTRIES)),
        c("amount-present", "not_null", "amount", {}, _not_null("amount")),
        c("amount-number", "is_number", "amount", {}, _type("amount", "DoubleType")),
        c("amount-range", "between", "amount", {"min": 0, "max": 100000}, _range("amount", 0, 100000)),
        c("amount-positive", "positive", "amount", {}, _range("amount", 0, strict_min=True)),
        c("amount-cents", "max_decimals", "amount", {"max": 2}, _sql("round(amount, 2) <> amount")),
        c(
            "amount-total",
            "sum_equals",
            None,
            {"fields": ["subtotal", "shipping", "tax"], "total": "amount", "tolerance": 0.01},
            _sql("abs(subtotal + shipping + tax - amount) > 0.01"),
        ),
        c("tax-rate-range", "between", "tax_rate", {"min": 0, "max": 0.25}, _range("tax_rate", 0, 0.25)),
        c("tax-rate-decimals", "max_decimals", "tax_rate", {"max": 2}, _sql("round(tax_rate, 2) <> tax_rate")),
        c("discount-non-negative", "non_negative", "discount", {}, _range("discount", 0)),
        c("shipping-capped", "less_than", "shipping", {"value": 1000}, _range("shipping", None, 1000, strict_max=True)),
        # quantities
        c("quantity-at-least-one", "greater_or_equal", "quantity", {"value": 1}, _range("quantity", 1)),
        c("quantity-at-most", "less_or_equal", "quantity", {"value": 100}, _range("quantity", None, 100)),
        c("pack-size-positive", "greater_than", "pack_size", {"value": 0}, _range("pack_size", 0, strict_min=True)),
        c("pack-size-multiple", "multiple_of", "pack_size", {"value": 6}, _sql("pmod(pack_size, 6) <> 0")),
        c("rating-range", "between", "rating", {"min": 1, "max": 5}, _range("rating", 1, 5)),
        # time
        c("created-at-timestamp", "is_timestamp", "created_at", {}, _rx("created_at", RFC3339)),
        c(
            "created-at-window",
            "timestamp_between",
            "created_at",
            {"start": start, "end": end},
            _range("created_at", start, end),
        ),
        c(
            "created-not-in-future",
            "not_in_future",
            "created_ts",
            {"skew_seconds": skew},
            _range("created_ts", None, utc + timedelta(seconds=skew)),
        ),
        c(
            "created-not-too-old",
            "not_older_than",
            "created_ts",
            {"max_age_seconds": max_age},
            _range("created_ts", utc - timedelta(seconds=max_age)),
        ),
        c(
            "updated-after-created",
            "field_compare",
            "updated_ts",
            {"op": "ge", "other": "created_ts"},
            _gx("ColumnPairValuesAToBeGreaterThanB", column_A="updated_ts", column_B="created_ts", or_equal=True),
        ),
        # structure
        c(
            "gift-message-if-gift",
            "required_if",
            "gift_message",
            {"when": "is_gift", "equals": True},
            _not_null("gift_message", row_condition=("eq", "is_gift", True)),
        ),
        c(
            "one-discount-code",
            "mutually_exclusive",
            None,
            {"fields": ["coupon_code", "voucher_code"]},
            _gx("ColumnValuesToBeNull", column="voucher_code", row_condition=("not_null", "coupon_code")),
        ),
        c("tags-count", "array_length_between", "tags", {"min": 1, "max": 5}, _sql("size(tags) NOT BETWEEN 1 AND 5")),
    ]


def contract_text(now: datetime) -> str:
    """The checks as the YAML text of one contract (typed top-level field names)."""
    doc = {
        "event_type": "bench.orders",
        "description": "Weir's quality benchmark: 50 row rules over a typed orders table.",
        "rules": [check.entry() for check in checks(now)],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
