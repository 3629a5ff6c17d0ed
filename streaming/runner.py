"""`weir stream`: the streaming job as a process. Starts the metrics endpoint and the Spark session, runs the
query until SIGTERM/SIGINT (then lets the running trigger finish and stops cleanly) or, with `available_now`,
until it has caught up. A restart resumes from the checkpoint."""

import logging
import signal
import threading
from types import FrameType

from prometheus_client import start_http_server

from streaming.job import start_query
from streaming.session import build_session
from streaming.settings import StreamSettings, get_settings

log = logging.getLogger(__name__)


def run(settings: StreamSettings | None = None, *, available_now: bool = False) -> int:
    """Run the job until it is stopped (or, with `available_now`, until it has caught up); exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings or get_settings()
    start_http_server(settings.stream_metrics_port)
    spark = build_session(
        settings.jars,
        app_name="weir-stream",
        master=settings.spark_master,
        shuffle_partitions=settings.shuffle_partitions,
        driver_memory=settings.spark_driver_memory,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the running trigger", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    query = start_query(spark, settings, available_now=available_now)
    log.info("streaming %s -> %s (checkpoint %s)", settings.events_topic, settings.lake, settings.checkpoint)
    while query.isActive:  # type: ignore[attr-defined]
        query.awaitTermination(0.5)  # type: ignore[attr-defined]
        if stop.is_set() and not query.status["isTriggerActive"]:  # type: ignore[attr-defined]
            query.stop()  # type: ignore[attr-defined]
    error = query.exception()  # type: ignore[attr-defined]
    spark.stop()
    if error is not None:
        log.error("the streaming query failed: %s", error)
        return 1
    return 0
