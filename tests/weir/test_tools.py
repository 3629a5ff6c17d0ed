"""`weir tools`: each tool the suite runs is found, installed by a route that works here, or named in one line."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from weir.stack import tools
from weir.stack.paths import Home
from weir.stack.tools import TOOLS, Apt, GoInstall, Tool, ToolsError

WEIR = Path(sys.executable).with_name("weir")


def _executable(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_the_table_has_promtool_installed_from_debian_s_prometheus_package():
    promtool = {t.command: t for t in TOOLS}["promtool"]
    assert Apt("prometheus") in promtool.routes


def test_the_table_has_the_pushgateway_from_debian_s_package_of_that_name():
    pushgateway = {t.command: t for t in TOOLS}["prometheus-pushgateway"]
    assert Apt("prometheus-pushgateway") in pushgateway.routes


def test_a_tool_on_path_is_found_and_nothing_is_installed(tmp_path, monkeypatch):
    _executable(tmp_path / "weir-demo-tool", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path))
    tool = Tool("weir-demo-tool", "a test", (Apt("weir-demo-tool"),))

    def no_run(argv, env):
        raise AssertionError(f"ran {argv}")

    assert tools.ensure(tool, run=no_run, bin_dir=tmp_path / "tools") == (str(tmp_path / "weir-demo-tool"), "found")


def test_without_promtool_and_without_a_route_weir_tools_says_in_one_line_what_to_install(tmp_path):
    """The installed console script, with a PATH that has neither promtool nor apt-get."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    proc = subprocess.run(
        [str(WEIR), "tools"],
        env={**env, "PATH": str(empty), "WEIR_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(TOOLS), proc.stderr  # one line per missing tool
    assert lines[0].startswith("weir tools: promtool (for the alert rules' unit tests")
    assert "apt-get is not on PATH" in lines[0]
    assert "install it with `apt-get install prometheus`" in lines[0]
    assert lines[1].startswith("prometheus-pushgateway (for the batch jobs' metrics tests")
    assert "install it with `apt-get install prometheus-pushgateway`" in lines[1]
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the apt route is for root; CI and the dev box run as root")
def test_the_apt_route_updates_the_package_lists_when_the_package_is_unknown_then_installs(tmp_path, monkeypatch):
    """A stand-in apt-get (the real one would change this machine): unknown package until `update` ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    _executable(
        bin_dir / "apt-get",
        f"""echo "$*" >> {log}
case "$1" in
  update) touch {tmp_path}/lists; exit 0 ;;
  install) [ -f {tmp_path}/lists ] || {{ echo "E: Unable to locate package $5" >&2; exit 100; }}
           printf '#!/bin/sh\\n' > {bin_dir}/weir-demo-tool; chmod +x {bin_dir}/weir-demo-tool ;;
esac""",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    tool = Tool("weir-demo-tool", "a test", (Apt("weir-demo-pkg"),))
    path, how = tools.ensure(tool, bin_dir=tmp_path / "tools")
    assert (path, how) == (str(bin_dir / "weir-demo-tool"), "installed: apt-get install weir-demo-pkg")
    assert log.read_text().splitlines() == [
        "install -y -q --no-install-recommends weir-demo-pkg",
        "update -q",
        "install -y -q --no-install-recommends weir-demo-pkg",
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="the apt route is for root; CI and the dev box run as root")
def test_a_failed_install_is_an_error_with_apt_get_s_last_words(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / "apt-get", 'echo "E: no space left on device" >&2; exit 100')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with pytest.raises(ToolsError, match=r"`apt-get update` failed .*no space left on device"):
        tools.ensure(Tool("weir-demo-tool", "a test", (Apt("weir-demo-pkg"),)), bin_dir=tmp_path / "tools")


def test_every_missing_tool_gets_its_own_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    table = [Tool("weir-tool-a", "a", (Apt("pkg-a"),)), Tool("weir-tool-b", "b", (), by_hand="or build it")]
    with pytest.raises(ToolsError) as info:
        tools.ensure_all(table, say=lambda _: None, bin_dir=tmp_path / "tools")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("weir-tool-a (for a) is not on PATH")
    assert lines[1] == (
        "weir-tool-b (for b) is not on PATH and cannot be installed here: install it, or build it, then run again"
    )


def _module_proxy(root: Path) -> str:
    """A Go module proxy on disk (GOPROXY=file://...) serving example.com/weirhello v1.0.0, whose
    cmd/weirhello prints a line: the layout `go` fetches from any proxy."""
    versions = root / "example.com" / "weirhello" / "@v"
    versions.mkdir(parents=True)
    go_mod = "module example.com/weirhello\n\ngo 1.21\n"
    (versions / "list").write_text("v1.0.0\n")
    (versions / "v1.0.0.info").write_text('{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}')
    (versions / "v1.0.0.mod").write_text(go_mod)
    with zipfile.ZipFile(versions / "v1.0.0.zip", "w") as z:
        z.writestr("example.com/weirhello@v1.0.0/go.mod", go_mod)
        main = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from a go-installed tool") }\n'
        z.writestr("example.com/weirhello@v1.0.0/cmd/weirhello/main.go", main)
    return f"file://{root}"


def test_the_go_route_builds_a_pinned_module_version_into_weir_home_tools_bin(tmp_path, monkeypatch):
    if tools._go() is None:
        pytest.fail("Go is not installed: the machines this project runs on have it (/usr/local/go)")
    monkeypatch.setenv("GOPROXY", _module_proxy(tmp_path / "proxy"))
    monkeypatch.setenv("GOSUMDB", "off")  # the module is not in the public checksum database
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "modcache"))
    monkeypatch.setenv("GOFLAGS", "-modcacherw")  # so that tmp_path can be removed
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    home = tmp_path / "home"
    tool = Tool("weirhello", "a test", (GoInstall("example.com/weirhello/cmd/weirhello", "v1.0.0"),))
    path, how = tools.ensure(tool, bin_dir=tools.tools_bin(Home(home)))
    assert path == str(home / "tools" / "bin" / "weirhello")
    assert how == "installed: go install example.com/weirhello/cmd/weirhello@v1.0.0"
    out = subprocess.run([path], capture_output=True, text=True, check=True).stdout
    assert out == "hello from a go-installed tool\n"
    # a second run finds it there, without Go
    monkeypatch.setattr(tools, "_go", lambda: None)
    assert tools.ensure(tool, bin_dir=home / "tools" / "bin") == (path, "found")


def test_without_go_the_go_route_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "_go", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    tool = Tool("weirhello", "a test", (GoInstall("example.com/weirhello/cmd/weirhello", "v1.0.0"),))
    with pytest.raises(ToolsError, match=r"\(go is not on PATH\): install it with `go install example\.com/"):
        tools.ensure(tool, bin_dir=tmp_path / "tools")
    assert shutil.which("weirhello", path=str(tmp_path)) is None
