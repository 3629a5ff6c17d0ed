"""No API key, whole or in part, in any error, log line or status output: a canary key through every path that
reads keys (WEIR_API_KEYS, `$WEIR_HOME/api-key`, the tenants file, requests, a running gateway's log, the CLI),
and the key file `weir up` writes is private from the moment it exists."""

import os
import stat
import subprocess
import sys
import traceback
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings
from tests.support import make_event, quoted_pieces
from weir.stack.local import Stack
from weir.stack.paths import REPO_ROOT, Home

CANARY = "zq8Xv2Lm9Rt4Wp7Ks3Jd"
WRONG = "Yh5Tc1Nb8Qf3Gv6Rw2Pe"  # a key no tenant has: a secret too (someone's key, sent to the wrong place)
HEX = "0123456789abcdef" * 4


def assert_no_key(text: str, where: str) -> None:
    for secret in (CANARY, WRONG):
        leaked = quoted_pieces(secret, text)
        assert not leaked, f"{where} quotes {leaked} of a key:\n{text}"


def _config_error(settings: GatewaySettings) -> str:
    """`create_app`'s ConfigError, with its whole traceback and every chained exception."""
    with pytest.raises(ConfigError) as info:
        create_app(settings)
    return "".join(traceback.format_exception(info.value))


@pytest.fixture(autouse=True)
def _no_tenants_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)


@pytest.mark.parametrize(
    "raw",
    [
        CANARY,  # no colon
        f":{CANARY}",  # no tenant
        f"{CANARY}:",  # no key
        f"  {CANARY}  ,acme:ok",
        f"acme:ok,{CANARY}",
        f"acme:{CANARY[:10]},{CANARY[10:]}",  # a comma inside the key
        f"acme:{CANARY},globex:{CANARY}",  # one key for two tenants
        f"acme:sha256:{CANARY}",  # a malformed digest
        f"acme:sha256:{HEX[:40]}{CANARY}",
        f"acme:{CANARY}, acme:sha256:{HEX[:-1]}",  # 63 hex digits
    ],
)
def test_malformed_weir_api_keys_never_quote_a_key(raw, tmp_path):
    text = _config_error(GatewaySettings(api_keys=raw, home=tmp_path))
    assert_no_key(text, "the error")


def test_a_malformed_home_key_file_never_quotes_the_key(tmp_path):
    (tmp_path / "api-key").write_text(f"{CANARY}\n")
    text = _config_error(GatewaySettings(api_keys=None, home=tmp_path))
    assert str(tmp_path / "api-key") in text
    assert_no_key(text, "the error")


BROKEN_TENANTS = {
    # YAML syntax: the offending line holds the key
    "unclosed flow sequence": f"tenants:\n  - name: a\n    keys: [{CANARY}\n",
    "unclosed quote": f'tenants:\n  - name: a\n    keys: ["{CANARY}\n',
    "tab": f"tenants:\n\t- name: a\n\t  keys: [{CANARY}]\n",
    "mapping in a flow sequence": f"tenants:\n  - name: a\n    keys: [{CANARY}]: x\n",
    "text after a sequence": f"tenants:\n  - name: a\n    keys: [{CANARY}] extra\n",
    "undefined alias": f"tenants:\n  - name: a\n    keys: [*{CANARY}]\n",
    "unknown tag": f"tenants:\n  - name: a\n    keys: [!{CANARY} x]\n",
    "python tag": f"tenants:\n  - name: a\n    keys: [!!python/object:{CANARY} x]\n",
    "bad escape": f'tenants:\n  - name: a\n    keys: ["\\q{CANARY}"]\n',
    "simple key": f"tenants:\n  - name: a\n    keys:\n{CANARY}\n",
    "not UTF-8": f"tenants:\n  - name: a\n    keys: [{CANARY}\udcff]\n",
    # the schema
    "keys as a string": f"tenants:\n  - name: a\n    keys: {CANARY}\n",
    "keys as a mapping": f"tenants:\n  - name: a\n    keys: {{{CANARY}: 1}}\n",
    "a nested list": f"tenants:\n  - name: a\n    keys: [[{CANARY}]]\n",
    "the key as a field": f"tenants:\n  - name: a\n    keys: [k]\n    {CANARY}: 1\n",
    "the key as a top-level field": f"{CANARY}: 1\ntenants: []\n",
    "tenants as a mapping": f"tenants:\n  {CANARY}: 1\n",
    "the key as the rate": f"tenants:\n  - name: a\n    keys: [k]\n    events_per_second: {CANARY}\n",
    "the key as an event type": f"tenants:\n  - name: a\n    keys: [k]\n    event_types: [{CANARY}]\n",
    "the key as a name": f"tenants:\n  - name: 'x {CANARY}'\n    keys: [{CANARY}]\n",
    "the keys missing": f"tenants:\n  - name: a\n    key: [{CANARY}]\n",
    # bad hashes, duplicates
    "a malformed digest": f"tenants:\n  - name: a\n    keys: ['sha256:{CANARY}']\n",
    "digest and key": f"tenants:\n  - name: a\n    keys: ['sha256:{HEX[:44]}{CANARY}']\n",
    "an empty key": f"tenants:\n  - name: a\n    keys: [{CANARY}, '']\n",
    "one key for two tenants": f"tenants:\n  - {{name: a, keys: [{CANARY}]}}\n  - {{name: b, keys: [{CANARY}]}}\n",
    "a key of WEIR_API_KEYS": f"tenants:\n  - {{name: b, keys: [{CANARY}]}}\n",
    "a tenant of WEIR_API_KEYS": f"tenants:\n  - {{name: acme, keys: [{CANARY}x]}}\n",
    "a tenant twice": f"tenants:\n  - {{name: a, keys: [{CANARY}]}}\n  - {{name: a, keys: [{WRONG}]}}\n",
}


@pytest.mark.parametrize("name", list(BROKEN_TENANTS))
def test_a_broken_tenants_file_never_quotes_a_key(name, tmp_path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_bytes(BROKEN_TENANTS[name].encode("utf-8", "surrogateescape"))
    monkeypatch.setenv("WEIR_TENANTS_FILE", str(path))
    text = _config_error(GatewaySettings(api_keys=f"acme:{CANARY}", home=tmp_path))
    assert str(path) in text
    assert_no_key(text, "the error")


def _weir(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    return subprocess.run(
        [sys.executable, "-m", "weir", *argv],
        env={**clean, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_never_prints_a_key(tmp_path):
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(BROKEN_TENANTS["unclosed flow sequence"])
    home = {"WEIR_HOME": str(tmp_path), "WEIR_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    for env in (
        {"WEIR_API_KEYS": f"acme:ok,{CANARY}"},
        {"WEIR_API_KEYS": "acme:ok", "WEIR_TENANTS_FILE": str(tenants)},
    ):
        done = _weir("gateway", **home, **env)
        assert done.returncode == 1, done
        assert_no_key(done.stdout + done.stderr, "weir gateway")
    status = _weir("status", **home, WEIR_API_KEYS=f"acme:{CANARY}")
    assert status.returncode == 0, status
    assert_no_key(status.stdout + status.stderr, "weir status")


@pytest.mark.integration
def test_a_running_gateway_never_answers_or_logs_a_key(kafka_bootstrap, gateway_factory):
    gw = gateway_factory(kafka_bootstrap, api_keys=f"acme:{CANARY}", WEIR_ACCESS_LOG="true")
    ok = {"X-API-Key": CANARY}
    answers = [
        httpx.post(f"{gw.url}/v1/events", json=make_event(), headers=headers, timeout=30)
        for headers in (
            {"X-API-Key": WRONG},
            {"Authorization": f"Bearer {WRONG}"},
            {"Authorization": f"Basic {WRONG}"},
            {"Authorization": WRONG},
            {"X-API-Key": CANARY[:-1]},
            ok,
        )
    ]
    assert [r.status_code for r in answers] == [401] * 5 + [202], [r.text for r in answers]
    for body, headers in ((b"{bad", ok), (b'{"event_id": "x"}', ok), (b"[]", {**ok, "Content-Type": "text/plain"})):
        answers.append(httpx.post(f"{gw.url}/v1/events", content=body, headers=headers, timeout=30))
    answers.append(httpx.post(f"{gw.url}/v1/events/batch", json=[make_event(), {}], headers=ok, timeout=30))
    answers.append(
        httpx.post(f"{gw.url}/v1/events/batch", json=[make_event()], headers={"X-API-Key": WRONG}, timeout=30)
    )
    for path in ("/metrics", "/readyz", "/healthz", "/openapi.json"):
        answers.append(httpx.get(f"{gw.url}{path}", headers=ok, timeout=30))
    for r in answers:
        assert_no_key(f"{r.headers}\n{r.text}", f"the answer to {r.request.method} {r.request.url}")
    gw.stop()  # the log is complete
    log = gw.service.log_file.read_text()
    assert "POST /v1/events HTTP/1.1" in log  # the access log was on
    assert_no_key(log, "the gateway's log")


def test_weir_up_creates_the_key_file_private_from_the_start(tmp_path, monkeypatch):
    """Created 0600, not created readable and narrowed later: every chmod is disabled here."""
    monkeypatch.delenv("WEIR_API_KEYS", raising=False)
    monkeypatch.setattr(Path, "chmod", lambda *a, **kw: None)
    monkeypatch.setattr(os, "chmod", lambda *a, **kw: None)
    monkeypatch.setattr(os, "fchmod", lambda *a, **kw: None)
    stack = Stack(Home(tmp_path / "home").ensure())
    umask = os.umask(0o022)
    try:
        keys = stack.api_keys()
    finally:
        os.umask(umask)
    key_file = tmp_path / "home" / "api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    tenant, _, key = keys.partition(":")
    assert tenant == "demo"
    assert len(key) >= 24
    assert stack.api_keys() == keys  # made once
    assert GatewaySettings(api_keys=None, home=tmp_path / "home").api_key_pairs() == [("demo", key)]
