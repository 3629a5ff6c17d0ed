"""Metrics of the batch jobs (compact, backfill, replay, import, sweep), pushed to a Prometheus Pushgateway.

A batch job lives for minutes, so it is not scraped: each run fills a `JobMetrics` (its own registry, nothing
global) and pushes it once at the end (`push`, by `batch.entry.run_job` when `WEIR_PUSHGATEWAY` is set). The
push is grouped by `job="weir-batch"` and `batch_job` (the command) and replaces that group's previous push
(HTTP PUT), so every figure reads "in the last run": that is why they are all gauges (a counter that starts at 0
in every run would mislead `rate()`, and would be exposed with a `_total` suffix that promises monotony).

`weir_batch_last_success_timestamp_seconds` must survive failed runs, or an alert on its age would forget the
last success after one failure: a failed run reads it back from the gateway (`previous_success`) and pushes it
again; a failed run that finds none pushes no such series at all (never a 0: "no success yet" is an absent
series, which the alert handles on its own). The names a Prometheus sees are `exported_names()`; the alerts that
read them are in `prometheus/alerts.yml` (group `weir-batch`), their runbooks in docs/operations.md."""

import http.client
import logging
import time
import urllib.request

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

PUSH_JOB = "weir-batch"
LAST_SUCCESS = "weir_batch_last_success_timestamp_seconds"
PUSH_TIMEOUT_S = 10.0
# What a push to an unreachable, slow or wrong gateway can raise (URLError and HTTPError are OSErrors; a bad
# `host:port` is a ValueError such as http.client.InvalidURL).
PUSH_ERRORS = (OSError, http.client.HTTPException, ValueError)


class _ValueGauge(Gauge):
    """A gauge without labels that is in `registry` only once it has a value, so that a run that never set it
    pushes no series (a compaction has no reconciliation figures; a crashed sweep did not find 0 mismatches)."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        super().__init__(name, documentation, registry=None)
        self._target = registry
        self.has_value = False

    def _appear(self) -> None:
        if not self.has_value:
            self._target.register(self)
            self.has_value = True

    def set(self, value: float) -> None:
        self._appear()
        super().set(value)

    def inc(self, amount: float = 1) -> None:
        self._appear()
        super().inc(amount)


class JobMetrics:
    """One run's figures. `job` is the command (`compact`, `backfill`, `replay`, `import`, `sweep`).

    What the jobs fill (all gauges: `.labels(...).set(v)` or `.inc(v)`):
    `files` / `bytes` {table, when=before|after} (compaction), `partitions` {table}, `rows` {table, outcome}
    (outcome: read, silver, quarantine, failure_published, replayed, imported, ...), `sweep` {table, event_type,
    rule, severity} (1 passed, 0 broke), `sweep_observed` {table, event_type, rule}, `mismatches` and `missing`
    (the reconciliation). `finish` and `push` are called by `batch.entry.run_job`."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.registry = CollectorRegistry()
        r = self.registry
        self.duration = Gauge("weir_batch_last_run_duration_seconds", "Wall time of the last run.", registry=r)
        self.last_run = Gauge("weir_batch_last_run_timestamp_seconds", "When the last run ended.", registry=r)
        self.success = Gauge("weir_batch_last_run_success", "1 if the last run succeeded (exit 0), else 0.", registry=r)
        # Set by `finish` on success, or by `push` to the previous success: never 0 (see above).
        self.last_success = _ValueGauge(LAST_SUCCESS, "When a run of this job last succeeded.", r)
        self.files = Gauge(
            "weir_batch_compaction_files",
            "Data files of the partitions the last run compacted, before and after (label when).",
            ["table", "when"],
            registry=r,
        )
        self.bytes = Gauge(
            "weir_batch_compaction_bytes",
            "Bytes of the partitions the last run compacted, before and after (label when).",
            ["table", "when"],
            registry=r,
        )
        self.partitions = Gauge(
            "weir_batch_partitions", "Partitions the last run worked on, by table.", ["table"], registry=r
        )
        self.rows = Gauge(
            "weir_batch_rows",
            "Rows the last run read or wrote, by table and outcome (read, silver, quarantine,"
            " failure_published, replayed, imported).",
            ["table", "outcome"],
            registry=r,
        )
        self.sweep = Gauge(
            "weir_batch_sweep_rule_passed",
            "1 if the dataset rule passed in the last sweep, 0 if it broke.",
            ["table", "event_type", "rule", "severity"],
            registry=r,
        )
        self.sweep_observed = Gauge(
            "weir_batch_sweep_rule_observed",
            "The figure the dataset rule observed in the last sweep (a count, a ratio, ...).",
            ["table", "event_type", "rule"],
            registry=r,
        )
        self.mismatches = _ValueGauge(
            "weir_batch_reconciliation_mismatched_hours",
            "Hours of received_at whose distinct bronze ids differ from silver + quarantine (last sweep).",
            r,
        )
        self.missing = _ValueGauge(
            "weir_batch_reconciliation_missing_rows",
            "Bronze ids in neither silver nor quarantine (negative: the excess), summed over hours (last sweep).",
            r,
        )
        self._succeeded: bool | None = None
        self.dry_run = False

    def mark_dry_run(self) -> None:
        """This run was a dry run that found work it did not do: `push` then pushes nothing, so that its figures
        replace neither the last real run's nor its success time. (A dry run that finds nothing to do may push:
        the lake is as a real run would leave it. The nightly `weir_compaction` DAG relies on that on a night
        with nothing to compact.)"""
        self.dry_run = True

    def finish(self, *, success: bool, seconds: float, now: float | None = None) -> None:
        """The run ended: its duration, end time and outcome (and, on success, the last success time)."""
        at = time.time() if now is None else now
        self.duration.set(seconds)
        self.last_run.set(at)
        self.success.set(1 if success else 0)
        self._succeeded = success
        if success:
            self.last_success.set(at)

    def push(self, gateway: str | None, *, success: bool | None = None) -> bool:
        """Push to `gateway` (`host:port` or a URL) when set; True when pushed. `success` defaults to what
        `finish` recorded. A failed run first reads the previous success time back so the replacing push keeps it.
        A gateway that cannot be reached is logged, never raised: metrics must not fail the job they describe."""
        if not gateway or self.dry_run:
            return False
        ok = self._succeeded if success is None else success
        if not ok and not self.last_success.has_value:
            previous = previous_success(gateway, self.job)
            if previous is not None:
                self.last_success.set(previous)
        try:
            push_to_gateway(
                gateway,
                job=PUSH_JOB,
                grouping_key={"batch_job": self.job},
                registry=self.registry,
                timeout=PUSH_TIMEOUT_S,
            )
        except PUSH_ERRORS as exc:
            log.warning("could not push the %s metrics to the Pushgateway at %s: %s", self.job, gateway, exc)
            return False
        return True


def _url(gateway: str) -> str:
    return (gateway if "://" in gateway else f"http://{gateway}").rstrip("/")


def previous_success(gateway: str, job: str, timeout_s: float = 5.0) -> float | None:
    """The last success time the Pushgateway holds for `job` (the command), or None (none, or unreachable)."""
    try:
        with urllib.request.urlopen(f"{_url(gateway)}/metrics", timeout=timeout_s) as resp:  # noqa: S310 - ours
            text = resp.read().decode()
    except PUSH_ERRORS:
        return None
    for family in text_string_to_metric_families(text):
        if family.name != LAST_SUCCESS:
            continue
        for sample in family.samples:
            if sample.labels.get("batch_job") == job and sample.labels.get("job") == PUSH_JOB and sample.value > 0:
                return float(sample.value)
    return None


def exported_names() -> set[str]:
    """Every metric name a batch job's push exposes (what alert rules may read)."""
    metrics = JobMetrics("names")
    metrics.finish(success=True, seconds=0.0, now=0.0)
    metrics.mismatches.set(0)
    metrics.missing.set(0)
    return {family.name for family in metrics.registry.collect()}
