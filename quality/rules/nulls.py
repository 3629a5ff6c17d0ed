"""Presence and JSON-kind rules. These are the exceptions to "null passes": they are about nulls and kinds."""

from quality.rules.base import NoParams, row_rule

FAMILY = "presence and types"

RULES = [
    row_rule(
        "not_null",
        FAMILY,
        "The field is present and not null.",
        NoParams,
        "{field} is required",
        {"rule": "not_null", "field": "payload.order_id"},
    ),
    row_rule(
        "is_null",
        FAMILY,
        "The field is absent or null.",
        NoParams,
        "{field} must be absent or null",
        {"rule": "is_null", "field": "payload.legacy_id"},
    ),
    row_rule(
        "not_empty",
        FAMILY,
        "Present, and not an empty string, array or object.",
        NoParams,
        "{field} must not be empty",
        {"rule": "not_empty", "field": "payload.items"},
    ),
    row_rule(
        "not_blank",
        FAMILY,
        "Present, and a string with a non-whitespace character.",
        NoParams,
        "{field} must not be blank",
        {"rule": "not_blank", "field": "payload.customer_name"},
    ),
    row_rule(
        "is_string",
        FAMILY,
        "Null, or a JSON string.",
        NoParams,
        "{field} must be a string",
        {"rule": "is_string", "field": "payload.sku"},
    ),
    row_rule(
        "is_integer",
        FAMILY,
        "Null, or a JSON integer (1, not 1.0).",
        NoParams,
        "{field} must be an integer",
        {"rule": "is_integer", "field": "payload.quantity"},
    ),
    row_rule(
        "is_number",
        FAMILY,
        "Null, or a JSON number (integer or not).",
        NoParams,
        "{field} must be a number",
        {"rule": "is_number", "field": "payload.amount"},
    ),
    row_rule(
        "is_boolean",
        FAMILY,
        "Null, or true/false.",
        NoParams,
        "{field} must be a boolean",
        {"rule": "is_boolean", "field": "payload.gift"},
    ),
    row_rule(
        "is_array",
        FAMILY,
        "Null, or a JSON array.",
        NoParams,
        "{field} must be an array",
        {"rule": "is_array", "field": "payload.items"},
    ),
    row_rule(
        "is_object",
        FAMILY,
        "Null, or a JSON object.",
        NoParams,
        "{field} must be an object",
        {"rule": "is_object", "field": "payload.address"},
    ),
    row_rule(
        "is_timestamp",
        FAMILY,
        "Null, or an RFC 3339 timestamp with an offset (or a timestamp column).",
        NoParams,
        "{field} must be an RFC 3339 timestamp",
        {"rule": "is_timestamp", "field": "payload.paid_at"},
    ),
]
