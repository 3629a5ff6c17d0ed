"""What the orchestration tests share: Airflow's own python (`.venv-airflow`, never imported by pytest), the
probe script run in it, the `WEIR_*` environment of a test lake, and reading a Delta table's commits."""

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.admin import create_topics
from ingest.topics import TopicSpec
from weir.stack.airflow import DAGS_FOLDER, LocalAirflow
from weir.stack.paths import REPO_ROOT, Home

AIRFLOW_VENV = Path(os.environ.get("WEIR_AIRFLOW_VENV") or REPO_ROOT / ".venv-airflow")
AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"
PROBE = Path(__file__).with_name("airflow_probe.py")
MARK = "@@PROBE@@"
WEIR_CLI = f"{REPO_ROOT / '.venv' / 'bin' / 'python'} -m weir"


def require_airflow() -> None:
    assert AIRFLOW_PYTHON.is_file(), f"{AIRFLOW_PYTHON} is missing: `make airflow-venv` makes Airflow's venv"


def probe(*args: str, env: Mapping[str, str], timeout_s: float = 300) -> dict[str, Any]:
    """Run airflow_probe.py in Airflow's venv; its JSON (the output after the marker line), or fail with its log."""
    require_airflow()
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(PROBE), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout_s,
        check=False,
    )
    out = done.stdout
    if MARK not in out:
        raise AssertionError(f"probe {args} exited {done.returncode}:\n{out[-4000:]}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.rsplit(MARK, 1)[1])
    result["log"] = out.rsplit(MARK, 1)[0] + done.stderr
    return result


@dataclass(frozen=True)
class DagLake:
    """A lake, its failure topic (made here), its contracts (a copy the test may change) and the environment
    a `weir` job needs to use them."""

    home: Path
    lake: str
    contracts: Path
    jars: Path
    bootstrap: str
    failures_topic: str

    @classmethod
    def make(cls, root: Path, jars: Path, bootstrap: str, failures_topic: str, contracts: Path) -> "DagLake":
        copy = root / "contracts"
        shutil.copytree(contracts, copy)
        create_topics(bootstrap, [TopicSpec(failures_topic, 1)])
        return cls(root / "home", str(root / "lake"), copy, jars, bootstrap, failures_topic)

    def weir_env(self) -> dict[str, str]:
        return {
            "WEIR_HOME": str(self.home),
            "WEIR_LAKE_URI": self.lake,
            "WEIR_CONTRACTS_DIR": str(self.contracts),
            "WEIR_SPARK_JARS_DIR": str(self.jars),
            "WEIR_KAFKA_BOOTSTRAP": self.bootstrap,
            "WEIR_FAILURES_TOPIC": self.failures_topic,
            "WEIR_SPARK_DRIVER_MEMORY": "1g",
            "WEIR_SHUFFLE_PARTITIONS": "2",
            "WEIR_CLI": WEIR_CLI,
            "WEIR_AIRFLOW_RETRY_SECONDS": "1",
        }

    def airflow(self, port: int) -> LocalAirflow:
        return LocalAirflow(Home(self.home), port, AIRFLOW_VENV)

    def airflow_env(self, port: int = 8080) -> dict[str, str]:
        """Airflow's configuration for this lake (`weir.stack.airflow`'s, the one `weir airflow up` uses)."""
        return self.airflow(port).env(self.weir_env())


def dags_folder() -> str:
    return str(DAGS_FOLDER)


@dataclass(frozen=True)
class Commit:
    version: int
    operation: str
    dates: frozenset[str]  # event_date partitionValues of its add and remove actions


def commits(table_dir: str | Path, *, after: int = -1) -> list[Commit]:
    """The table's commits after version `after`, each with the `event_date`s its data actions touch."""
    out = []
    for path in sorted(Path(table_dir, "_delta_log").glob("*.json")):
        version = int(path.stem)
        if version <= after:
            continue
        operation, dates = "", set()
        for line in path.read_text().splitlines():
            action = json.loads(line)
            if "commitInfo" in action:
                operation = action["commitInfo"].get("operation", "")
            for kind in ("add", "remove"):
                if kind in action:
                    dates.add(action[kind].get("partitionValues", {}).get("event_date"))
        out.append(Commit(version, operation, frozenset(d for d in dates if d)))
    return out


def last_version(table_dir: str | Path) -> int:
    return max(int(p.stem) for p in Path(table_dir, "_delta_log").glob("*.json"))


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)
