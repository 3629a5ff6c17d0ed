import subprocess
import sys
from pathlib import Path

import pytest

from weir.cli import build_parser, main

COMMANDS = [
    "up",
    "down",
    "status",
    "demo",
    "gateway",
    "stream",
    "jars",
    "tools",
    "topics",
    "rules",
    "failures",
    "airflow",
    "compact",
    "backfill",
    "replay",
    "import",
    "sweep",
]
# `pip install -e .` writes the `weir` console script beside the venv's python (pyproject's [project.scripts]).
CONSOLE_SCRIPT = Path(sys.executable).with_name("weir")


def test_every_command_has_help():
    parser = build_parser()
    help_text = parser.format_help()
    for command in COMMANDS:
        assert command in help_text
        with pytest.raises(SystemExit) as info:
            parser.parse_args([command, "--help"])
        assert info.value.code == 0


def test_an_unknown_command_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "weir", "nope"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_the_console_script_is_installed():
    assert CONSOLE_SCRIPT.is_file(), f"no console script at {CONSOLE_SCRIPT}: `make install` (pip install -e .)"
    proc = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: weir ")
    bad = subprocess.run([str(CONSOLE_SCRIPT), "nope"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr


def test_bad_stream_flags_are_a_clear_error(capsys):
    assert main(["stream", "--trigger-seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert "bad streaming settings: trigger_seconds: Input should be greater than 0" in err
    assert "Traceback" not in err
