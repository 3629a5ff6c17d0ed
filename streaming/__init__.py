"""Weir's Spark Structured Streaming job: reads `weir.events.v1` and, per micro-batch, writes bronze, the
DQ-failure topic, quarantine and silver exactly once. Owns the query (`streaming.job`), its runner, the query
listener and the lag monitor; the tables, the session and the pure transforms it applies are `lake`'s, shared
with the batch jobs. May use `lake`, `quality`, `ingest`, `observability`."""
