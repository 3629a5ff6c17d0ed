"""Format rules: a JSON string matched in full against a shared pattern (`quality.rules.format_patterns`) or
code list (`quality.rules.iso_codes`). Null passes; another kind fails."""

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from quality.rules.base import NoParams, Params, RuleType, row_rule

FAMILY = "formats"

Scheme = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*$")]


class UrlParams(Params):
    schemes: Annotated[list[Scheme], Field(min_length=1)] = Field(default_factory=lambda: ["http", "https"])

    @field_validator("schemes")
    @classmethod
    def _lower(cls, schemes: list[str]) -> list[str]:
        return list(dict.fromkeys(s.lower() for s in schemes))


def _rule(name: str, summary: str, message: str, field: str) -> RuleType:
    return row_rule(name, FAMILY, summary, NoParams, message, {"rule": name, "field": field})


RULES: list[RuleType] = [
    _rule(
        "email",
        "An e-mail address: dot-separated atoms, one @, a domain whose top level has 2+ letters.",
        "{field} must be an e-mail address",
        "payload.customer_email",
    ),
    _rule(
        "uuid",
        "A UUID in the 8-4-4-4-12 hex form (any case, any version).",
        "{field} must be a UUID",
        "payload.order_id",
    ),
    row_rule(
        "url",
        FAMILY,
        "An absolute URL scheme://host[:port][/path][?query][#fragment] with one of `schemes`, no whitespace.",
        UrlParams,
        "{field} must be a URL ({schemes})",
        {"rule": "url", "field": "payload.callback_url", "params": {"schemes": ["https"]}},
    ),
    _rule(
        "ipv4",
        "A dotted-quad IPv4 address (0-255 each, no leading zero).",
        "{field} must be an IPv4 address",
        "payload.client_ip",
    ),
    _rule(
        "ipv6",
        "An IPv6 address: full, compressed with ::, or with an embedded IPv4 tail (no zone).",
        "{field} must be an IPv6 address",
        "payload.client_ipv6",
    ),
    _rule(
        "iso_country",
        "An ISO 3166-1 alpha-2 country code, uppercase (US, DE, ...).",
        "{field} must be an ISO 3166-1 alpha-2 country code",
        "payload.shipping_country",
    ),
    _rule(
        "iso_currency",
        "An ISO 4217 currency code, uppercase (EUR, USD, ...).",
        "{field} must be an ISO 4217 currency code",
        "payload.currency",
    ),
    _rule(
        "e164_phone",
        "An E.164 phone number: + then 2 to 15 digits, the first not 0.",
        "{field} must be an E.164 phone number",
        "payload.phone",
    ),
    _rule(
        "iso_date",
        "A calendar date written YYYY-MM-DD (or a date column).",
        "{field} must be a date (YYYY-MM-DD)",
        "payload.birth_date",
    ),
    _rule(
        "hostname",
        "An RFC 1123 host name: labels of letters, digits and inner hyphens, 253 characters at most.",
        "{field} must be a host name",
        "payload.origin_host",
    ),
    _rule(
        "mac_address",
        "A MAC address: six hex pairs separated consistently by : or -.",
        "{field} must be a MAC address",
        "payload.device_mac",
    ),
]
