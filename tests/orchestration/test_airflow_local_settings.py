"""orchestration/airflow_local_settings.py: its choices as pure logic, then in a real Airflow (its own settings
module, from `.venv-airflow`) beside a concurrent SQLite writer, the race that made `airflow backfill create` fail."""

import json
import subprocess
from pathlib import Path

import pytest

from orchestration.airflow_local_settings import BEGIN_ENV, SQLITE_BUSY_TIMEOUT_S, sqlite_begin, sqlite_connect_args
from weir.stack.airflow import SERVICE_ENV, LocalAirflow
from weir.stack.paths import REPO_ROOT, Home

AIRFLOW_PYTHON = REPO_ROOT / ".venv-airflow" / "bin" / "python"
PROBE = Path(__file__).with_name("sqlite_race_probe.py")


def test_airflow_backfill_begins_immediate_and_everything_else_deferred() -> None:
    airflow = "/x/.venv-airflow/bin/airflow"
    assert sqlite_begin({}, [airflow, "backfill", "create", "--dag-id", "d"]) == "IMMEDIATE"
    for argv in ([airflow, "db", "migrate"], [airflow, "scheduler"], [airflow], ["python", "backfill"], []):
        assert sqlite_begin({}, argv) == "DEFERRED", argv
    assert sqlite_begin({BEGIN_ENV: " deferred "}, [airflow, "backfill", "create"]) == "DEFERRED"
    assert sqlite_begin({BEGIN_ENV: "immediate"}, [airflow, "db", "migrate"]) == "IMMEDIATE"
    assert SERVICE_ENV == {BEGIN_ENV: "DEFERRED"}


def test_an_unknown_begin_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=f"{BEGIN_ENV}='EXCLUSIVE': expected one of IMMEDIATE, DEFERRED"):
        sqlite_begin({BEGIN_ENV: "exclusive"}, [])


def test_the_busy_timeout_is_added_and_a_configured_one_kept() -> None:
    assert sqlite_connect_args({"check_same_thread": False}) == {
        "timeout": SQLITE_BUSY_TIMEOUT_S,
        "check_same_thread": False,
    }
    assert sqlite_connect_args({"timeout": 5})["timeout"] == 5


def test_env_installs_the_local_settings_in_the_airflow_home(tmp_path: Path) -> None:
    airflow = LocalAirflow(Home(tmp_path), 18126, tmp_path / "venv")
    airflow.env({})
    installed = tmp_path / "airflow" / "config" / "airflow_local_settings.py"
    assert installed.read_text() == (REPO_ROOT / "orchestration" / "airflow_local_settings.py").read_text()


def race(tmp_path: Path, extra_env: dict[str, str]) -> dict[str, object]:
    if not AIRFLOW_PYTHON.is_file():
        pytest.skip("no .venv-airflow (`make airflow-venv`)")
    airflow = LocalAirflow(Home(tmp_path), 18127, AIRFLOW_PYTHON.parent.parent)
    airflow.env({})  # installs the local settings, as `weir airflow up` does
    # a user's shell: only AIRFLOW_HOME (no PYTHONPATH to Weir, no AIRFLOW__* variables)
    env = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(airflow.airflow_home), **extra_env}
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(PROBE)], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_cli_that_reads_then_writes_waits_for_a_concurrent_writer_instead_of_failing(tmp_path: Path) -> None:
    """What `airflow backfill …` gets (the probe is not `airflow backfill`, so it asks for it by name)."""
    result = race(tmp_path, {BEGIN_ENV: "IMMEDIATE"})
    assert result["busy_timeout_ms"] == SQLITE_BUSY_TIMEOUT_S * 1000
    assert result["cli"] == "committed", result
    assert result["rows"] == ["cli", "other"]
    waited = result["other_waited_s"]
    assert isinstance(waited, float), result
    assert waited >= 0.5, result  # the other writer waited for the CLI's lock


def test_with_deferred_transactions_the_same_race_fails_at_once_whatever_the_timeout(tmp_path: Path) -> None:
    """The control: what every other process keeps, and what `airflow backfill` had before; the busy timeout
    does not help."""
    result = race(tmp_path, {})
    assert result["busy_timeout_ms"] == SQLITE_BUSY_TIMEOUT_S * 1000
    assert result["cli"] == "(sqlite3.OperationalError) database is locked", result
    assert result["rows"] == ["other"]
