"""Weir's Spark Structured Streaming job: reads `weir.events.v1`, parses the envelope, and writes the
`bronze/events` and `silver/events` Delta tables exactly once per micro-batch. Transforms are pure
`DataFrame -> DataFrame` functions (`streaming.transforms`); sessions and I/O live in `streaming.job`,
`streaming.session` and `streaming.tables`. May use `quality`, `ingest`, `observability`."""
