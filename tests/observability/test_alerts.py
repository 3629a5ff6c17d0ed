"""The Prometheus alert rules (observability/prometheus/alerts.yml), checked and unit-tested by Prometheus's own
`promtool` (`make tools` installs it: Debian `apt-get install prometheus`): each alert fires on the series it is
meant for, after its `for`, with its labels and rendered annotations (`alerts_test.yml`), reads only metrics
Weir exports (scraped, or pushed by the batch jobs), and has a runbook."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from observability import batch, metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "observability" / "prometheus" / "alerts.yml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")
OPERATIONS = ROOT / "docs" / "operations.md"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make tools` (Debian: apt-get install prometheus)")
    return path


def _alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_rules_file_is_valid_for_prometheus():
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_each_alert_fires_when_and_how_it_should():
    result = subprocess.run(
        [_promtool(), "test", "rules", UNIT_TESTS.name],
        check=False,
        capture_output=True,
        text=True,
        cwd=UNIT_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_has_a_firing_unit_test():
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    firing = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    assert {str(a["alert"]) for a in _alerts()} <= firing


def test_each_alert_links_a_runbook_that_exists():
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    for alert in _alerts():
        runbook = str(alert["annotations"]["runbook"])
        page, _, anchor = runbook.partition("#")
        assert page == "docs/operations.md", alert["alert"]
        assert anchor in headings, f"{alert['alert']}: no heading for #{anchor} in docs/operations.md"


def _exported_names() -> set[str]:
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
                names.update(family.name + suffix for suffix in suffixes)
    return names


def test_alerts_read_only_metrics_weir_exports():
    exported = _exported_names() | batch.exported_names()  # the stream's and gateway's, the batch jobs' pushes
    assert "weir_stream_oldest_unprocessed_age_seconds" in exported  # the helper sees the module's metrics
    for alert in _alerts():
        used = set(re.findall(r"\bweir_[a-z_]+\b", str(alert["expr"])))
        assert used, alert["alert"]
        assert used <= exported, f"{alert['alert']} reads metrics no Weir component exports: {used - exported}"
