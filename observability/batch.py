"""Metrics of the batch jobs (compact, backfill, replay, import, sweep), pushed to a Prometheus Pushgateway.

A batch job lives for minutes, so it is not scraped: each run fills a `JobMetrics` (its own registry, nothing
global) and pushes it once at the end (`push`), grouped by `job` (`weir_batch`) and `batch_job` (the command),
replacing that group's previous push. `weir_batch_last_success_timestamp_seconds` is pushed only by a run that
succeeded, so an alert on its age sees the last success even after failures (those push `..._last_run_success 0`
and keep the previous success time out of their push: a push replaces the whole group, so a failed run pushes the
last success time it read back from the gateway, when it can)."""

import logging
import time
import urllib.error
import urllib.request

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

PUSH_JOB = "weir_batch"
LAST_SUCCESS = "weir_batch_last_success_timestamp_seconds"


class JobMetrics:
    """One run's figures. `job` is the command (`compact`, `backfill`, `replay`, `import`, `sweep`)."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.registry = CollectorRegistry()
        r = self.registry
        self.duration = Gauge("weir_batch_duration_seconds", "Wall time of the job's last run.", registry=r)
        self.last_run = Gauge("weir_batch_last_run_timestamp_seconds", "When the last run ended.", registry=r)
        self.success = Gauge("weir_batch_last_run_success", "1 if the last run succeeded, else 0.", registry=r)
        self.last_success = Gauge(LAST_SUCCESS, "When a run of this job last succeeded.", registry=r)
        self.files = Gauge(
            "weir_batch_compaction_files",
            "Files of the compacted partitions, before and after.",
            ["table", "when"],
            registry=r,
        )
        self.bytes = Gauge(
            "weir_batch_compaction_bytes",
            "Bytes of the compacted partitions, before and after.",
            ["table", "when"],
            registry=r,
        )
        self.partitions = Gauge(
            "weir_batch_partitions", "Partitions the last run worked on, by table.", ["table"], registry=r
        )
        self.rows = Counter(
            "weir_batch_rows",
            "Rows the last run read or wrote, by table and outcome (read, silver, quarantine,"
            " failure_published, replayed, imported).",
            ["table", "outcome"],
            registry=r,
        )
        self.sweep = Gauge(
            "weir_batch_sweep_rule_passed",
            "1 if the dataset rule passed in the last sweep, else 0.",
            ["table", "event_type", "rule", "severity"],
            registry=r,
        )
        self.sweep_observed = Gauge(
            "weir_batch_sweep_rule_observed",
            "The metric the dataset rule observed in the last sweep.",
            ["table", "event_type", "rule"],
            registry=r,
        )
        self.mismatches = Gauge(
            "weir_batch_reconciliation_mismatched_hours",
            "Hours of received_at whose distinct bronze ids differ from silver + quarantine (last sweep).",
            registry=r,
        )
        self.missing = Gauge(
            "weir_batch_reconciliation_missing_rows",
            "Bronze ids in neither silver nor quarantine (or the excess, negative), summed over hours (last sweep).",
            registry=r,
        )

    def finish(self, *, success: bool, seconds: float, now: float | None = None) -> None:
        at = time.time() if now is None else now
        self.duration.set(seconds)
        self.last_run.set(at)
        self.success.set(1 if success else 0)
        if success:
            self.last_success.set(at)

    def push(self, gateway: str | None, *, success: bool) -> bool:
        """Push to `gateway` (`host:port`) when set; True when pushed. A failed run first reads the previous
        success time back so the replacing push keeps it. A gateway that cannot be reached is logged, never
        raised: metrics must not fail the job they describe."""
        if not gateway:
            return False
        if not success:
            previous = previous_success(gateway, self.job)
            if previous is not None:
                self.last_success.set(previous)
        try:
            push_to_gateway(gateway, job=PUSH_JOB, grouping_key={"batch_job": self.job}, registry=self.registry)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("could not push metrics to the Pushgateway at %s: %s", gateway, exc)
            return False
        return True


def previous_success(gateway: str, job: str, timeout_s: float = 5.0) -> float | None:
    """The last success time the Pushgateway holds for `job`, or None."""
    url = gateway if "://" in gateway else f"http://{gateway}"
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=timeout_s) as resp:  # noqa: S310 - our own gateway
            text = resp.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    for family in text_string_to_metric_families(text):
        if family.name != LAST_SUCCESS:
            continue
        for sample in family.samples:
            if sample.labels.get("batch_job") == job and sample.labels.get("job") == PUSH_JOB and sample.value > 0:
                return float(sample.value)
    return None
