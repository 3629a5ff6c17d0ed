"""Entry point: `weir gateway [--workers N]` runs the app under uvicorn. With several workers uvicorn imports
`gateway.app:app_factory` in each worker process, so each has its own Kafka producer. SIGTERM: readiness
goes false, the listener closes (after `WEIR_SHUTDOWN_DRAIN_S`), in-flight requests finish and their events
are flushed to Kafka, then the process exits. Per-request access logging is off unless `WEIR_ACCESS_LOG=true`
(it costs more CPU than validating an event; the metrics count every request). With several workers `/metrics`
combines every worker's values (`observability.exposition`), whichever worker answers the scrape, and the
tenants' rate limits hold across the workers (`gateway.ratelimit`: token buckets in one shared file)."""

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from gateway.app import create_app
from gateway.settings import RATE_LIMIT_FILE_ENV, get_settings
from observability.exposition import MULTIPROC_ENV, multiprocess_dir


def run(host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    settings = get_settings()
    create_app(settings)  # fail fast, in this process, on a configuration error (keys, contracts)
    workers = workers or settings.gateway_workers
    # Several workers share files in a fresh directory, set up before uvicorn starts them and removed when they
    # are gone: their metrics (prometheus-client's multiprocess mode) and the tenants' token buckets. A metrics
    # directory or a rate-limit file the operator set already is used as it is.
    run_dir = None
    if workers > 1:
        run_dir = Path(tempfile.mkdtemp(prefix="weir-gateway-"))
        if multiprocess_dir() is None:
            (run_dir / "metrics").mkdir()
            os.environ[MULTIPROC_ENV] = str(run_dir / "metrics")
        if settings.rate_limit_file is None:
            os.environ[RATE_LIMIT_FILE_ENV] = str(run_dir / "ratelimit")
    try:
        uvicorn.run(
            "gateway.app:app_factory",
            factory=True,
            host=host or settings.gateway_host,
            port=port or settings.gateway_port,
            workers=workers,
            log_level="info",
            access_log=settings.access_log,
            timeout_graceful_shutdown=int(settings.shutdown_drain_s + settings.delivery_timeout_ms / 1000 + 5),
        )
    finally:
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
