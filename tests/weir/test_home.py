"""One default `$WEIR_HOME` (`weir.stack.paths.default_home`): the CLI's, and the one it gives the services it
starts, wherever the command is run from."""

import pytest

from weir.cli import main
from weir.stack.paths import REPO_ROOT, Home, default_home


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A shell in some other directory, with no WEIR_* variable that would decide the home."""
    for name in ("WEIR_HOME", "WEIR_LAKE_URI", "WEIR_CHECKPOINT_DIR", "WEIR_SPARK_JARS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_home_of_a_checkout_is_beside_pyproject_wherever_weir_runs(elsewhere):
    assert default_home() == REPO_ROOT / ".weir"
    assert Home.from_env().root == REPO_ROOT / ".weir"


def test_weir_stream_started_elsewhere_uses_the_cli_s_home(elsewhere, monkeypatch):
    seen = {}

    def fake_run(settings, *, available_now):
        seen.update(home=settings.home, lake=settings.lake, checkpoint=settings.checkpoint, jars=settings.jars)
        return 0

    monkeypatch.setattr("streaming.runner.run", fake_run)
    assert main(["stream", "--available-now"]) == 0
    home = REPO_ROOT / ".weir"
    assert seen == {
        "home": home,
        "lake": str(home / "lake"),
        "checkpoint": str(home / "checkpoints" / "stream"),
        "jars": home / "jars" / "spark",
    }
    assert not (elsewhere / ".weir").exists()


def test_weir_gateway_started_elsewhere_reads_the_api_key_weir_up_wrote(elsewhere, monkeypatch):
    from gateway.settings import GatewaySettings

    seen = {}

    def fake_run(host, port, workers):
        seen["home"] = GatewaySettings().home  # what each worker process reads from its environment
        return None

    monkeypatch.setattr("gateway.main.run", fake_run)
    assert main(["gateway"]) == 0
    assert seen["home"] == REPO_ROOT / ".weir"


def test_an_explicit_weir_home_wins(elsewhere, monkeypatch, tmp_path):
    monkeypatch.setenv("WEIR_HOME", str(tmp_path / "mine"))
    seen = {}
    monkeypatch.setattr("streaming.runner.run", lambda settings, *, available_now: seen.setdefault("s", settings) and 0)
    main(["stream"])
    assert seen["s"].home == tmp_path / "mine"


def test_the_services_own_default_is_the_cli_s_home_even_started_without_it(elsewhere):
    """A gateway or stream started outside the CLI (uvicorn, spark-submit) with WEIR_HOME unset uses the same
    home as `weir up`, not `.weir` in whatever directory it was started from."""
    from gateway.settings import GatewaySettings
    from streaming.settings import StreamSettings

    assert GatewaySettings().home == StreamSettings().home == REPO_ROOT / ".weir"
