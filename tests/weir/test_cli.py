import subprocess
import sys

import pytest

from weir.cli import build_parser, main

COMMANDS = ["up", "down", "status", "demo", "gateway", "stream", "jars", "topics", "rules", "failures"]


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
    proc = subprocess.run([sys.executable, "-m", "weir", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "weir" in proc.stdout


def test_bad_stream_flags_are_a_clear_error(capsys):
    assert main(["stream", "--trigger-seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert "bad streaming settings: trigger_seconds: Input should be greater than 0" in err
    assert "Traceback" not in err
