import sys

from weir.stack.paths import Home
from weir.stack.procs import Service

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)",
]


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path):
    service = Service("sleeper", Home(tmp_path))
    pid = service.start(SLEEPER)
    assert service.start(SLEEPER) == pid
    assert service.pid() == pid
    assert service.stop(timeout_s=5) is True
    assert service.pid() is None
    assert not service.pid_file.exists()
    assert service.stop() is False


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(tmp_path):
    service = Service("stubborn", Home(tmp_path))
    service.start(STUBBORN)
    assert service.stop(timeout_s=1) is True
    assert service.pid() is None


def test_a_stale_pid_file_is_ignored(tmp_path):
    service = Service("ghost", Home(tmp_path).ensure())
    service.pid_file.write_text("999999\n")
    assert service.pid() is None
    assert not service.pid_file.exists()
