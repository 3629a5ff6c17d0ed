"""weir.stack.airflow without starting Airflow: its configuration, the clear error when its venv is missing, and
`weir airflow status` / `weir airflow down` with nothing running (the real start is test_airflow_backfill.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from weir.exceptions import StackError
from weir.stack.airflow import DAGS_FOLDER, LocalAirflow
from weir.stack.paths import REPO_ROOT, Home


def test_env_configures_airflow_for_the_lake_and_passes_weir_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIR_PUSHGATEWAY", "127.0.0.1:9091")
    monkeypatch.delenv("WEIR_CLI", raising=False)
    airflow = LocalAirflow(Home(tmp_path), 18123, tmp_path / "venv")
    airflow.airflow_home.mkdir(parents=True)
    env = airflow.env({"WEIR_LAKE_URI": "/lake", "WEIR_HOME": str(tmp_path)})
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert env["WEIR_LAKE_URI"] == "/lake"
    assert env["WEIR_PUSHGATEWAY"] == "127.0.0.1:9091"
    assert env["WEIR_CLI"] == f"{sys.executable} -m weir"
    assert env["PYTHONPATH"] == str(REPO_ROOT)
    # one JWT secret for every component, kept across restarts and private
    assert airflow.env({})["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert (tmp_path / "airflow" / "weir-secrets.json").stat().st_mode & 0o077 == 0


def test_up_without_airflows_venv_says_how_to_make_it(tmp_path: Path) -> None:
    airflow = LocalAirflow(Home(tmp_path), 18124, tmp_path / "no-venv")
    with pytest.raises(StackError, match="make airflow-venv"):
        airflow.up({})


def weir(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"WEIR_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "WEIR_AIRFLOW_PORT": "18125"}
    return subprocess.run([sys.executable, "-m", "weir", *args], capture_output=True, text=True, env=env, check=False)


def test_airflow_status_and_down_with_nothing_running(tmp_path: Path) -> None:
    status = weir(tmp_path, "airflow", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == {
        "airflow api-server": "stopped",
        "airflow scheduler": "stopped",
        "airflow dag-processor": "stopped",
        "airflow url": "http://127.0.0.1:18125",
        "airflow home": str(tmp_path / "airflow"),
    }
    down = weir(tmp_path, "airflow", "down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.count("was not running") == 3
