"""Weir's observability: the Prometheus metric definitions every component exports (and, with later issues,
the Prometheus config, alert rules and dashboards as code). Depends on `quality` only."""
