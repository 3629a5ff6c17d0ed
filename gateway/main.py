"""Entry point: `weir gateway [--workers N]` runs the app under uvicorn. With several workers uvicorn imports
`gateway.app:app_factory` in each worker process, so each has its own Kafka producer. SIGTERM: readiness
goes false, the listener closes (after `WEIR_SHUTDOWN_DRAIN_S`), in-flight requests finish and their events
are flushed to Kafka, then the process exits. Per-request access logging is off unless `WEIR_ACCESS_LOG=true`
(it costs more CPU than validating an event; the metrics count every request)."""

import uvicorn

from gateway.app import create_app
from gateway.settings import get_settings


def run(host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    settings = get_settings()
    create_app(settings)  # fail fast, in this process, on a configuration error (keys, contracts)
    uvicorn.run(
        "gateway.app:app_factory",
        factory=True,
        host=host or settings.gateway_host,
        port=port or settings.gateway_port,
        workers=workers or settings.gateway_workers,
        log_level="info",
        access_log=settings.access_log,
        timeout_graceful_shutdown=int(settings.shutdown_drain_s + settings.delivery_timeout_ms / 1000 + 5),
    )
