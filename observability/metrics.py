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
    "weir_gateway_producer_queue_messages",
    "Messages waiting in the producer for an acknowledgement (summed over live workers).",
    multiprocess_mode="livesum",
)
GATEWAY_DELIVERY_ERRORS = Counter(
    "weir_gateway_delivery_errors_total", "Events Kafka did not acknowledge (queue full, timeout, refused)."
)

# Streaming -------------------------------------------------------------------------------------------
STREAM_BATCHES = Counter(
    "weir_stream_batches_total", "Micro-batches Spark committed, counted once per batch id (a replay counts once)."
)
STREAM_ROWS = Counter(
    "weir_stream_rows_total",
    "Rows of committed batches by outcome: bronze (every record read), silver and quarantine (rows routed there; an"
    " event re-sent in a later batch counts again but is stored once), failure_published (messages sent to the"
    " DQ-failure topic), duplicate (later copies within a batch).",
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

# Streaming: query health (StreamingQueryListener, `streaming.listener`) --------------------------------
STREAM_QUERY_ACTIVE = Gauge("weir_stream_query_active", "1 while the streaming query runs, 0 once it terminated.")
STREAM_QUERY_TERMINATIONS = Counter(
    "weir_stream_query_terminations_total",
    "Streaming query terminations, by outcome: stopped (asked to stop) or failed (with an exception).",
    ["outcome"],
)
STREAM_PROGRESS_INPUT_ROWS = Counter(
    "weir_stream_progress_input_rows_total", "Rows read from Kafka, summed over the query's progress reports."
)
STREAM_INPUT_ROWS_PER_SECOND = Gauge(
    "weir_stream_input_rows_per_second", "Rate at which rows arrived, as of the last progress report."
)
STREAM_PROCESSED_ROWS_PER_SECOND = Gauge(
    "weir_stream_processed_rows_per_second", "Rate at which the query processed rows, as of the last progress report."
)
STREAM_LAST_BATCH_INPUT_ROWS = Gauge(
    "weir_stream_last_progress_input_rows", "Rows read by the trigger of the last progress report."
)
STREAM_TRIGGER_SECONDS = Histogram(
    "weir_stream_trigger_seconds",
    "Wall time of whole triggers (offset planning, the batch, the commit), from the progress reports.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128),
)
STREAM_TRIGGER_PHASE_SECONDS = Gauge(
    "weir_stream_last_trigger_phase_seconds",
    "Time spent in each phase of the last reported trigger (Spark's durationMs: addBatch, latestOffset,"
    " walCommit, commitOffsets, triggerExecution, ...).",
    ["phase"],
)
STREAM_SPARK_OFFSETS_BEHIND = Gauge(
    "weir_stream_spark_offsets_behind_latest",
    "Spark's own Kafka source metric at the last trigger: offsets behind the latest, min/avg/max over partitions.",
    ["stat"],
)
STREAM_SOURCE_OFFSETS_BEHIND = Gauge(
    "weir_stream_source_offsets_behind",
    "At the last trigger: the source's latest offset minus the batch's end offset, per topic-partition.",
    ["topic", "partition"],
)
STREAM_LAST_PROGRESS_TIMESTAMP = Gauge(
    "weir_stream_last_progress_timestamp_seconds",
    "Unix time of the last progress or idle report: the query's heartbeat (about every trigger, at least every"
    " 10 s while idle).",
)
STREAM_LISTENER_ERRORS = Counter(
    "weir_stream_listener_errors_total", "Query listener callbacks that raised (logged and ignored)."
)

# Streaming: lag, independent of triggers (LagMonitor, `streaming.lag`) ----------------------------------
STREAM_OFFSETS_BEHIND = Gauge(
    "weir_stream_offsets_behind",
    "Records not yet committed by the job: the partition's high watermark minus the last committed end offset.",
    ["topic", "partition"],
)
STREAM_OFFSETS_BEHIND_TOTAL = Gauge(
    "weir_stream_offsets_behind_total", "weir_stream_offsets_behind summed over the events topic's partitions."
)
STREAM_OLDEST_UNPROCESSED_AGE = Gauge(
    "weir_stream_oldest_unprocessed_age_seconds",
    "Age (by Kafka timestamp) of the oldest record not yet committed by the job; 0 when it has caught up; NaN when"
    " records wait but a timestamp could not be read (a lag error of stage timestamps).",
)
STREAM_NEWEST_RECEIVED_AGE = Gauge(
    "weir_stream_newest_received_age_seconds",
    "Seconds since the newest received_at the job committed (NaN until its first batch with events).",
)
STREAM_COMMITTED_OFFSET = Gauge(
    "weir_stream_committed_offset",
    "The end offset (next offset to read) of the last batch Spark committed, per topic-partition.",
    ["topic", "partition"],
)
STREAM_LAG_CHECKS = Counter("weir_stream_lag_checks_total", "Lag monitor ticks that measured the lag.")
STREAM_LAG_ERRORS = Counter(
    "weir_stream_lag_errors_total",
    "Lag monitor ticks that failed, by stage (watermarks, timestamps, checkpoint); retried at the next tick.",
    ["stage"],
)
STREAM_LAG_LAST_CHECK_TIMESTAMP = Gauge(
    "weir_stream_lag_last_check_timestamp_seconds", "Unix time at which the lag monitor last measured the lag."
)
