"""`weir stream`: the streaming job as a process. Starts the metrics endpoint, the Spark session with the query
listener (`streaming.listener`), the query and the lag monitor (`streaming.lag`); runs until SIGTERM/SIGINT (then
lets the running trigger finish and stops cleanly) or, with `available_now`, until it has caught up. A restart
resumes from the checkpoint."""

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client import start_http_server
from pyspark.errors import StreamingQueryException

from lake.session import build_session
from streaming.exceptions import DataQualityStop
from streaming.job import BatchLedger, source_reads, start_query
from streaming.lag import LagMonitor
from streaming.listener import QueryMetricsListener
from streaming.settings import StreamSettings, get_settings

log = logging.getLogger(__name__)

TERMINATION_EVENT_WAIT_S = 5.0


def _jvm_ignores_sigterm(spark: Any) -> None:
    """Leave shutting down to this process. A SIGTERM sent to the whole process group (systemd, `kill -- -PGID`,
    a container runtime) would otherwise also reach the JVM, whose shutdown hook stops the SparkContext under the
    running query: interrupted batches, stack traces, a non-zero exit. pyspark already makes it ignore SIGINT."""
    jvm = spark.sparkContext._jvm
    jvm.sun.misc.Signal.handle(jvm.sun.misc.Signal("TERM"), jvm.sun.misc.SignalHandler.SIG_IGN)


def _quiet_stop(spark: Any) -> None:
    """Stopping the query cancels its job group, and Spark warns (twice) when no job of the group is running, as is
    the case between triggers, where the stop happens: silence that one logger for the shutdown."""
    jvm = spark.sparkContext._jvm
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    configurator.setLevel("org.apache.spark.scheduler.DAGScheduler", jvm.org.apache.logging.log4j.Level.ERROR)


def run(settings: StreamSettings | None = None, *, available_now: bool = False) -> int:
    """Run the job until it is stopped (or, with `available_now`, until it has caught up); exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per listener callback otherwise
    settings = settings or get_settings()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the running trigger", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Created first: it sets the lag gauges to NaN, so no scrape reads "no lag" before the first measurement.
    monitor = LagMonitor(
        settings.kafka_bootstrap, settings.events_topic, Path(settings.checkpoint), starting=settings.starting_offsets
    )
    start_http_server(settings.stream_metrics_port)
    spark = build_session(
        settings.jars,
        app_name="weir-stream",
        master=settings.spark_master,
        shuffle_partitions=settings.shuffle_partitions,
        driver_memory=settings.spark_driver_memory,
    )
    _jvm_ignores_sigterm(spark)
    # The batch metrics and the committed offsets move when Spark reports a batch committed, not before.
    ledger = BatchLedger(on_committed=monitor.batch_committed)
    listener = QueryMetricsListener(  # this process's only query
        on_progress=[monitor.on_progress, ledger.on_progress], source_reads=source_reads(settings)
    )
    spark.streams.addListener(listener)
    try:
        if stop.is_set():  # stopped while the session was starting: do not start a query only to stop it
            return 0
        query: Any = start_query(spark, settings, available_now=available_now, ledger=ledger)
        monitor.start()
        log.info("streaming %s -> %s (checkpoint %s)", settings.events_topic, settings.lake, settings.checkpoint)
        while query.isActive:
            try:
                query.awaitTermination(0.5)
            except StreamingQueryException:
                break  # the query failed: `query.exception()` below has the reason
            if stop.is_set() and not query.status["isTriggerActive"]:
                _quiet_stop(spark)
                query.stop()
        error = query.exception()
        # The termination event reaches the listener asynchronously; let it arrive before the session goes.
        listener.terminated.wait(TERMINATION_EVENT_WAIT_S)
    finally:
        monitor.stop()
        spark.streams.removeListener(listener)
        spark.stop()
    if error is not None:
        log.error("the streaming query failed: %s", failure_summary(error))
        return 1
    return 0


def failure_summary(error: object) -> str:
    """The line that says why the query failed: a `DataQualityStop` raised in `foreachBatch` reaches here wrapped
    in Spark's exception, with a Python traceback inside; keep its own message."""
    text = str(error)
    marker = f"{DataQualityStop.__name__}: "
    if marker in text:
        return text.split(marker, 1)[1].splitlines()[0]
    return text
