"""The batch jobs' metrics (observability/batch.py) as a real Prometheus Pushgateway serves them (the session
`pushgateway` fixture: Debian's `prometheus-pushgateway`, which `make tools` installs): the names and labels the
alert rules read, the last success time kept across failed runs (never a 0 for "no success yet"), and a gateway
that cannot be reached never failing the job. `batch.entry.run_job` builds its own Spark session; the job tests
cover it, these test `JobMetrics` directly."""

import logging
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from observability.batch import LAST_SUCCESS, PUSH_JOB, JobMetrics, exported_names, previous_success
from tests.support import free_port

Sample = tuple[str, tuple[tuple[str, str], ...]]


def _served(gateway: str, batch_job: str) -> dict[Sample, float]:
    """{(name, sorted labels without job, batch_job and the gateway's empty instance): value} of one group."""
    text = httpx.get(f"http://{gateway}/metrics", timeout=5).raise_for_status().text
    served: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if labels.pop("batch_job", None) != batch_job:
                continue
            assert labels.pop("job") == PUSH_JOB
            assert labels.pop("instance", "") == ""
            served[sample.name, tuple(sorted(labels.items()))] = sample.value
    return served


def _names(served: dict[Sample, float]) -> set[str]:
    return {name for name, _ in served if name.startswith("weir_")}


def _job(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # the gateway is shared by the session: a group of its own


def test_a_compaction_is_served_with_the_names_and_labels_the_alerts_read(pushgateway):
    metrics = JobMetrics("compact")
    for table, before, after in (("silver/events", 746, 31), ("quarantine/events", 737, 30)):
        metrics.files.labels(table, "before").set(before)
        metrics.files.labels(table, "after").set(after)
        metrics.bytes.labels(table=table, when="before").set(before * 40_000)
        metrics.bytes.labels(table=table, when="after").set(after * 900_000)
        metrics.partitions.labels(table).set(30)
    metrics.finish(success=True, seconds=12.5, now=1_790_000_000.0)

    assert metrics.push(pushgateway, success=True)

    served = _served(pushgateway, "compact")
    assert served["weir_batch_compaction_files", (("table", "silver/events"), ("when", "before"))] == 746
    assert served["weir_batch_compaction_files", (("table", "quarantine/events"), ("when", "after"))] == 30
    assert served["weir_batch_compaction_bytes", (("table", "silver/events"), ("when", "after"))] == 31 * 900_000
    assert served["weir_batch_partitions", (("table", "quarantine/events"),)] == 30
    assert served["weir_batch_last_run_success", ()] == 1
    assert served["weir_batch_last_run_duration_seconds", ()] == 12.5
    assert served[LAST_SUCCESS, ()] == 1_790_000_000.0
    assert served["weir_batch_last_run_timestamp_seconds", ()] == 1_790_000_000.0
    # A compaction reconciles nothing and its gauges say "last run", not a running total.
    assert not {n for n in _names(served) if "reconciliation" in n or "sweep" in n or n.endswith("_total")}


def test_a_sweep_is_served_per_rule_with_its_reconciliation(pushgateway):
    metrics = JobMetrics("sweep")
    metrics.sweep.labels("silver/events", "shop.order", "unique_order_id", "fail").set(0)
    metrics.sweep.labels("silver/events", "shop.order", "amount_not_null", "warn").set(1)
    metrics.sweep_observed.labels("silver/events", "shop.order", "unique_order_id").set(24)
    metrics.sweep_observed.labels("silver/events", "shop.order", "amount_not_null").set(0.002)
    metrics.rows.labels("silver/events", "read").inc(336_776)
    metrics.mismatches.set(2)
    metrics.missing.set(37)
    metrics.finish(success=False, seconds=40.0)  # a broken fail rule: exit 1

    assert metrics.push(pushgateway)

    served = _served(pushgateway, "sweep")
    rule = (("event_type", "shop.order"), ("rule", "unique_order_id"))
    assert served["weir_batch_sweep_rule_passed", (*rule, ("severity", "fail"), ("table", "silver/events"))] == 0
    warn = (("event_type", "shop.order"), ("rule", "amount_not_null"), ("severity", "warn"), ("table", "silver/events"))
    assert served["weir_batch_sweep_rule_passed", warn] == 1
    assert served["weir_batch_sweep_rule_observed", (*rule, ("table", "silver/events"))] == 24
    assert served["weir_batch_rows", (("outcome", "read"), ("table", "silver/events"))] == 336_776
    assert served["weir_batch_reconciliation_mismatched_hours", ()] == 2
    assert served["weir_batch_reconciliation_missing_rows", ()] == 37
    assert served["weir_batch_last_run_success", ()] == 0


def test_every_name_a_push_can_carry_is_in_exported_names(pushgateway):
    """`exported_names()` is what the alert rules may read: it must be what a gateway really serves."""
    job = _job("everything")
    metrics = JobMetrics(job)
    metrics.files.labels("t", "before").set(1)
    metrics.bytes.labels("t", "before").set(1)
    metrics.partitions.labels("t").set(1)
    metrics.rows.labels("t", "read").inc(1)
    metrics.sweep.labels("t", "e", "r", "fail").set(1)
    metrics.sweep_observed.labels("t", "e", "r").set(1)
    metrics.mismatches.set(0)
    metrics.missing.set(0)
    metrics.finish(success=True, seconds=1.0)
    assert metrics.push(pushgateway)

    assert _names(_served(pushgateway, job)) == exported_names()


def test_a_failed_run_after_a_success_keeps_the_last_success_time(pushgateway):
    job = _job("backfill")
    good = JobMetrics(job)
    good.rows.labels("silver/events", "silver").inc(500)
    good.finish(success=True, seconds=3.0, now=1_790_000_000.0)
    assert good.push(pushgateway)

    bad = JobMetrics(job)
    bad.finish(success=False, seconds=1.0, now=1_790_086_400.0)
    assert bad.push(pushgateway)

    served = _served(pushgateway, job)
    assert served[LAST_SUCCESS, ()] == 1_790_000_000.0
    assert served["weir_batch_last_run_success", ()] == 0
    assert served["weir_batch_last_run_timestamp_seconds", ()] == 1_790_086_400.0
    assert ("weir_batch_rows", (("outcome", "silver"), ("table", "silver/events"))) not in served  # replaced
    assert previous_success(pushgateway, job) == 1_790_000_000.0

    again = JobMetrics(job)  # a second failure still finds it
    again.finish(success=False, seconds=1.0, now=1_790_090_000.0)
    assert again.push(pushgateway)
    assert _served(pushgateway, job)[LAST_SUCCESS, ()] == 1_790_000_000.0


def test_a_run_that_never_succeeded_pushes_no_last_success_at_all(pushgateway):
    """Never a 0: "no success yet" is an absent series, which the compaction alert handles on its own."""
    job = _job("compact")
    metrics = JobMetrics(job)
    metrics.finish(success=False, seconds=2.0)
    assert metrics.push(pushgateway)

    served = _served(pushgateway, job)
    assert served["weir_batch_last_run_success", ()] == 0
    assert LAST_SUCCESS not in _names(served)
    assert previous_success(pushgateway, job) is None


def test_a_dry_run_pushes_nothing(pushgateway):
    job = _job("compact")
    real = JobMetrics(job)
    real.files.labels("silver/events", "after").set(31)
    real.finish(success=True, seconds=5.0, now=1_790_000_000.0)
    assert real.push(pushgateway)

    dry = JobMetrics(job)
    dry.mark_dry_run()
    dry.files.labels("silver/events", "after").set(746)
    dry.finish(success=True, seconds=1.0, now=1_790_086_400.0)
    assert not dry.push(pushgateway)

    served = _served(pushgateway, job)
    assert served["weir_batch_compaction_files", (("table", "silver/events"), ("when", "after"))] == 31
    assert served[LAST_SUCCESS, ()] == 1_790_000_000.0


@pytest.mark.parametrize("success", [True, False])
def test_an_unreachable_gateway_is_logged_and_never_raised(caplog, success):
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    metrics = JobMetrics("sweep")
    metrics.finish(success=success, seconds=1.0)

    with caplog.at_level(logging.WARNING, logger="observability.batch"):
        assert metrics.push(nobody) is False

    assert any(nobody in r.getMessage() and "could not push" in r.getMessage() for r in caplog.records)


def test_no_gateway_configured_means_no_push_and_no_log(caplog):
    metrics = JobMetrics("compact")
    metrics.finish(success=True, seconds=1.0)
    with caplog.at_level(logging.DEBUG, logger="observability.batch"):
        assert metrics.push(None) is False
        assert metrics.push("") is False
    assert not caplog.records
