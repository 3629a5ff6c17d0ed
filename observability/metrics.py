"""Metric definitions, one place for every name and label set, so that dashboards and alerts can rely on them.

Metrics register in prometheus-client's default registry when this module is first imported, which is the
library's idiom; nothing else happens at import time.
"""

from prometheus_client import Counter, Gauge, Histogram

# Gateway ---------------------------------------------------------------------------------------------
GATEWAY_REQUESTS = Counter(
    "weir_gateway_requests_total", "HTTP requests answered, by route and status code.", ["route", "status"]
)
GATEWAY_EVENTS = Counter(
    "weir_gateway_events_total",
    "Events by outcome (accepted, rejected, unavailable) and tenant.",
    ["tenant", "outcome"],
)
GATEWAY_PRODUCE_SECONDS = Histogram(
    "weir_gateway_produce_seconds",
    "Time from handing events to the producer until Kafka acknowledged them (or refused).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GATEWAY_REJECTED = Counter(
    "weir_gateway_rejected_events_total",
    "Events refused, by tenant and reason (json, too_large, too_deep, envelope, event_type_forbidden, contract,"
    " unavailable).",
    ["tenant", "reason"],
)
GATEWAY_EDGE_WARNINGS = Counter(
    "weir_gateway_edge_warnings_total", "Warn-level contract rules broken by accepted events.", ["tenant", "rule"]
)
GATEWAY_REQUEST_SECONDS = Histogram(
    "weir_gateway_request_seconds",
    "End-to-end HTTP request latency (body read, validation, Kafka acknowledgement), by route.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GATEWAY_PRODUCER_QUEUE = Gauge(
    "weir_gateway_producer_queue_messages", "Messages waiting in the producer for an acknowledgement."
)
GATEWAY_DELIVERY_ERRORS = Counter(
    "weir_gateway_delivery_errors_total", "Events Kafka did not acknowledge (queue full, timeout, refused)."
)

# Streaming -------------------------------------------------------------------------------------------
STREAM_BATCHES = Counter("weir_stream_batches_total", "Micro-batches committed by the streaming job.")
STREAM_ROWS = Counter(
    "weir_stream_rows_total",
    "Rows by outcome: bronze (every record read), silver and quarantine (rows routed there; a replay or a duplicate"
    " counts again but is written once), failure_published (messages sent to the DQ-failure topic).",
    ["outcome"],
)
STREAM_DQ_FAILURES = Counter(
    "weir_stream_dq_failures_total",
    "Data-quality rule failures found by the streaming job, by event type, rule and severity.",
    ["event_type", "rule", "severity"],
)
STREAM_BATCH_SECONDS = Histogram(
    "weir_stream_batch_seconds",
    "Wall time of one micro-batch's writes (foreachBatch).",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
STREAM_LAST_BATCH_TIMESTAMP = Gauge(
    "weir_stream_last_batch_timestamp_seconds", "Unix time at which the last micro-batch committed."
)
