"""Background processes of the local stack: started in their own session (process group), with a pid file
under `$WEIR_HOME/run` and a log under `$WEIR_HOME/logs`; stopped by process group, SIGTERM then SIGKILL."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from weir.stack.paths import Home


@dataclass(frozen=True)
class Service:
    name: str
    home: Home

    @property
    def pid_file(self) -> Path:
        return self.home.run / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home.logs / f"{self.name}.log"

    def pid(self) -> int | None:
        """The recorded pid if that process is alive, else None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
        """Start the service detached (new session), unless it already runs; returns its pid."""
        running = self.pid()
        if running is not None:
            return running
        self.home.ensure()
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the service's process group, wait, then SIGKILL; True if something was running."""
        pid = self.pid()
        if pid is None:
            return False
        stop_group(pid, timeout_s)
        self.pid_file.unlink(missing_ok=True)
        return True


def stop_group(pid: int, timeout_s: float) -> None:
    """Stop a service: SIGTERM to its leader (which shuts its children down in order: the streaming job
    stops its query, then its JVM), then, after `timeout_s`, SIGKILL to the whole process group."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone: reap it.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
