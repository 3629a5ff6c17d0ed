"""Weir's HTTP ingest gateway (FastAPI): authenticates tenants, validates the envelope, and publishes to Kafka,
answering 202 only after the broker acknowledged the write. May use `quality`, `ingest`, `observability`."""
