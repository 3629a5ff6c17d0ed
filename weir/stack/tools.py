"""`weir tools`: the command-line tools the test suite runs besides Python and the JVM, as a table (`TOOLS`).

Each tool is looked for on `PATH` and in `$WEIR_HOME/tools/bin`; a missing one is installed by the first of its
routes that can work on this machine, and when none can, the error says in one line what to install. Routes:
`Apt` (a Debian package, as root) and `GoInstall` (`go install module@version` into `$WEIR_HOME/tools/bin`, from
the Go module proxy). A later tool is one more row, as Prometheus's Pushgateway is; kubeconform would be
`Tool("kubeconform", ..., (GoInstall("github.com/yannh/kubeconform/cmd/kubeconform", "v0.6.7"),))`; a tool
shipped another way (a venv) is one more route kind.
The Makefile puts `$WEIR_HOME/tools/bin` on the suite's PATH.
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from weir.exceptions import WeirError
from weir.stack.paths import Home

Run = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]
Say = Callable[[str], None]


class ToolsError(WeirError):
    """A tool the suite needs is missing and could not be installed here."""


def _run(argv: Sequence[str], env: Mapping[str, str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, env={**os.environ, **env})


def _tail(proc: "subprocess.CompletedProcess[str]", lines: int = 5) -> str:
    return " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-lines:])


class Route(Protocol):
    """One way to install a tool."""

    @property
    def how(self) -> str:
        """The command a person would type, for messages."""
        ...

    def unusable(self) -> str | None:
        """None when this route can work here, else why it cannot."""
        ...

    def install(self, run: Run, bin_dir: Path) -> None:
        """Install (into `bin_dir` if the route chooses where), or raise ToolsError saying what went wrong."""
        ...


@dataclass(frozen=True)
class Apt:
    """A Debian package, installed with `apt-get` (as root), after an `apt-get update` if the lists lack it."""

    package: str

    @property
    def how(self) -> str:
        return f"apt-get install {self.package}"

    def unusable(self) -> str | None:
        if shutil.which("apt-get") is None:
            return "apt-get is not on PATH"
        if os.geteuid() != 0:
            return f"apt-get needs root (uid {os.geteuid()})"
        return None

    def install(self, run: Run, bin_dir: Path) -> None:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", self.package]
        proc = run(argv, env)
        if proc.returncode != 0:  # a fresh machine has no package lists yet
            update = run(["apt-get", "update", "-q"], env)
            if update.returncode != 0:
                raise ToolsError(f"`apt-get update` failed (exit {update.returncode}): {_tail(update)}")
            proc = run(argv, env)
        if proc.returncode != 0:
            raise ToolsError(f"`{self.how}` failed (exit {proc.returncode}): {_tail(proc)}")


GO_HOME_BIN = Path("/usr/local/go/bin/go")  # where the official Go archive installs it, often not on PATH


def _go() -> str | None:
    return shutil.which("go") or (str(GO_HOME_BIN) if GO_HOME_BIN.is_file() else None)


@dataclass(frozen=True)
class GoInstall:
    """A command of a Go module at a pinned version, built with `go install` into `bin_dir` (GOBIN)."""

    package: str
    version: str

    @property
    def how(self) -> str:
        return f"go install {self.package}@{self.version}"

    def unusable(self) -> str | None:
        return None if _go() is not None else "go is not on PATH"

    def install(self, run: Run, bin_dir: Path) -> None:
        go = _go()
        if go is None:
            raise ToolsError("go is not on PATH")
        bin_dir.mkdir(parents=True, exist_ok=True)
        proc = run([go, "install", f"{self.package}@{self.version}"], {"GOBIN": str(bin_dir), "GOTOOLCHAIN": "local"})
        if proc.returncode != 0:
            raise ToolsError(f"`{self.how}` failed (exit {proc.returncode}): {_tail(proc)}")


@dataclass(frozen=True)
class Tool:
    command: str
    needed_for: str
    routes: tuple[Route, ...]
    by_hand: str = ""

    def missing_message(self, reasons: Sequence[str]) -> str:
        how = " or ".join(f"`{r.how}`" for r in self.routes)
        what = f"install it with {how}" if how else "install it"
        extra = f", {self.by_hand}" if self.by_hand else ""
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return (
            f"{self.command} (for {self.needed_for}) is not on PATH and cannot be installed here{why}: "
            f"{what}{extra}, then run again"
        )


TOOLS: tuple[Tool, ...] = (
    Tool(
        "promtool",
        "the alert rules' unit tests, tests/observability",
        (Apt("prometheus"),),
        by_hand="or put promtool from a Prometheus release on PATH",
    ),
    Tool(
        "prometheus-pushgateway",
        "the batch jobs' metrics tests, tests/observability/test_batch_metrics.py",
        (Apt("prometheus-pushgateway"),),
        by_hand="or put a Pushgateway release's `pushgateway` on PATH as prometheus-pushgateway",
    ),
)


def tools_bin(home: Home | None = None) -> Path:
    """Where routes that choose the place (`GoInstall`) put their tools: `$WEIR_HOME/tools/bin`."""
    return (home or Home.from_env()).root / "tools" / "bin"


def ensure(tool: Tool, run: Run = _run, bin_dir: Path | None = None) -> tuple[str, str]:
    """(path, how it got there: `found` or `installed: <command>`); ToolsError when it cannot be had."""
    bin_dir = bin_dir or tools_bin()
    search = os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)])
    found = shutil.which(tool.command, path=search)
    if found is not None:
        return found, "found"
    reasons: list[str] = []
    for route in tool.routes:
        why = route.unusable()
        if why is not None:
            reasons.append(why)
            continue
        route.install(run, bin_dir)
        installed = shutil.which(tool.command, path=search)
        if installed is not None:
            return installed, f"installed: {route.how}"
        reasons.append(f"`{route.how}` succeeded but {tool.command} is still not on PATH nor in {bin_dir}")
    raise ToolsError(tool.missing_message(reasons))


def ensure_all(
    tools: Sequence[Tool] = TOOLS, say: Say = print, run: Run = _run, bin_dir: Path | None = None
) -> dict[str, str]:
    """Every tool, installing what is missing; {command: path}. One ToolsError line per tool that cannot be had."""
    paths: dict[str, str] = {}
    problems: list[str] = []
    width = max((len(t.command) for t in tools), default=0)
    for tool in tools:
        try:
            path, how = ensure(tool, run, bin_dir)
        except ToolsError as exc:
            problems.append(str(exc))
            continue
        paths[tool.command] = path
        say(f"{tool.command:<{width}} {path} ({how})")
    if problems:
        raise ToolsError("\n".join(problems))
    return paths
