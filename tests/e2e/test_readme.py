"""The README's "Using it" commands, run as written (`bash -e`, from the repo root, default ports and `.weir`)
against the real stack they start: the curl is accepted (202), the silver query prints the event, and (on a
`.weir` whose silver did not hold the README's event yet, as in CI's fresh clone) bronze gained exactly that one
record, so the row printed is this run's. On a reused `.weir` the README's fixed event_id is already in silver
(first verdict wins) and the query succeeds at once: then only the 202 and the printed row are checked."""

import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from weir.stack.lake import read_rows
from weir.stack.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
WEIR = Path(sys.executable).with_name("weir")
# What the README's commands listen on when nothing is configured (WEIR_* unset).
DEFAULT_PORTS = {9092: "Kafka", 9093: "Kafka's controller", 8000: "the gateway", 9108: "the stream's metrics"}
# A `make` inside `make test` would otherwise inherit the outer one's flags and jobserver.
MAKE_VARS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR"}


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```$", markdown, flags=re.S | re.M)


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _copies(table: str, event_id: str) -> int:
    rows = read_rows(str(REPO_ROOT / ".weir" / "lake" / table / "events"), ["event_id"])
    return sum(1 for r in rows if r["event_id"] == event_id)


def test_the_using_it_section_has_the_commands_this_test_runs():
    blocks = bash_blocks(section(README.read_text(), "Using it"))
    assert len(blocks) == 1
    assert blocks[0].splitlines()[0].startswith("make up")
    assert blocks[0].strip().splitlines()[-1] == "make down"


@pytest.mark.timeout(900)
def test_the_readme_s_using_it_commands_run_as_written(tmp_path):
    script = "\n".join(bash_blocks(section(README.read_text(), "Using it")))
    event_id = re.search(r'"event_id": "([0-9a-f-]{36})"', script)
    assert event_id is not None, script
    event_id = event_id.group(1)
    taken = [f"{port} ({what})" for port, what in DEFAULT_PORTS.items() if _port_taken(port)]
    if taken:
        pytest.fail(
            f"the README's commands use the default ports and {REPO_ROOT / '.weir'}, but these ports are taken: "
            f"{', '.join(taken)}. Stop what listens there (a stack of this checkout: `make down`) and run again."
        )
    (tmp_path / "readme.sh").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_") and k not in MAKE_VARS}
    bronze_before, fresh = _copies("bronze", event_id), _copies("silver", event_id) == 0
    try:
        proc = subprocess.run(
            ["bash", "-e", str(tmp_path / "readme.sh")],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=720,
            check=False,
        )
    finally:  # whatever happened, nothing of the README's stack is left running
        down = subprocess.run([str(WEIR), "down"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert down.returncode == 0, down.stdout + down.stderr
    assert re.search(r"^HTTP/\S+ 202", proc.stdout, flags=re.M), out[-6000:]
    printed = [line for line in proc.stdout.splitlines() if event_id in line and line.startswith("|")]
    assert printed, out[-6000:]  # the silver query's table has the event's row
    assert "order.created" in printed[0]
    assert "demo" in printed[0]  # the tenant whose key the README used
    assert _copies("silver", event_id) == 1
    if fresh:
        assert _copies("bronze", event_id) == bronze_before + 1
    else:
        warnings.warn(
            f"{REPO_ROOT / '.weir' / 'lake'} already held the README's event: this run's record was not traced",
            stacklevel=1,
        )
