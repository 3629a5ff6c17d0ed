"""How a process serves its metrics: one process's registry, or, for a server with several worker processes
(the gateway under `--workers N`), the values of every worker combined by prometheus-client's multiprocess mode.

Multiprocess mode is on when `PROMETHEUS_MULTIPROC_DIR` names a directory in the environment *before* the worker
processes start (prometheus-client then keeps each worker's values in files there); `weir gateway` sets it to a
fresh directory when it runs more than one worker. Without it, a scrape would see only the worker that happened
to answer it: a fraction of the counts.
"""

import os

from prometheus_client import CollectorRegistry, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> bytes:
    """The metrics in Prometheus's text format: every worker's, combined, in multiprocess mode (counters and
    histograms summed; gauges as their `multiprocess_mode` says); else this process's."""
    if multiprocess_dir() is None:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def worker_exited() -> None:
    """A worker stops: in multiprocess mode, drop its live gauges (`livesum` and the like) from the combined
    values. Its counters stay: they were counted."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
