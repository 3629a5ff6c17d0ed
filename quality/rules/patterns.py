"""Regular expressions shared by both engines, written in the subset where Java (Spark's `rlike`) and
Python's `re` (with `re.ASCII`) agree. They carry no anchors: each engine anchors them to the whole value its
own way (Python `re.fullmatch`; Spark `^(?:…)\\z`, since Java's `$` also matches before a final `\\r`)."""

RFC3339 = (
    r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
ISO_DATE = r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"

# The event envelope's fields (`ingest.envelope` is their one definition; the gateway, the stream and batch use
# them through it). Anchor-free like the rest.
EVENT_TYPE = r"[a-z][a-z0-9_.-]{0,127}"
# A UUID in its normal form: lowercase, hyphenated (the gateway writes every id in this form).
CANONICAL_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
