"""Weir's observability: the Prometheus metric definitions every component exports (`metrics`), how a process
serves them, several worker processes included (`exposition`), and the alert rules (`prometheus/alerts.yml`,
unit-tested with promtool); with later issues, the Prometheus config and dashboards as code. Depends on
`quality` only."""
