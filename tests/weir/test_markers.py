"""`make unit` (`-m "not integration and not e2e"`) stays offline: no test it selects runs Maven, Kafka or Spark."""

import os
import subprocess
import sys

from weir.stack.paths import REPO_ROOT

UNIT = "not integration and not e2e"


def _collect(*args: str, pythonpath: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"PYTHONPATH": str(REPO_ROOT)} if pythonpath else {})}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_make_unit_selects_none_of_the_tests_that_need_the_fetched_jars():
    proc = _collect("-m", UNIT, "tests/weir/test_jars.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    selected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert selected, proc.stdout  # the pure ones (artifact names, the stamp) are unit tests
    for name in (
        "test_fetched_folders_are_complete_and_a_second_fetch_is_a_no_op",
        "test_spark_folder_holds_the_extras_and_nothing_pyspark_ships",
        "test_kafka_folder_has_the_broker_and_a_log4j2_binding",
    ):
        assert not any(name in line for line in selected), f"{name} would run Maven under `make unit`"


def test_an_unmarked_test_that_uses_the_jars_is_refused_at_collection(tmp_path):
    (tmp_path / "test_unmarked.py").write_text("def test_uses_maven(jars_home):\n    pass\n")
    proc = _collect("-p", "tests.conftest", str(tmp_path / "test_unmarked.py"), pythonpath=True)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # a usage error: nothing runs
    assert "use jars_home (Maven, Kafka or Spark) but are not marked integration or e2e" in proc.stderr
    assert "test_unmarked.py::test_uses_maven" in proc.stderr
