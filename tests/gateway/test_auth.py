from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.auth import KeyStore
from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings


def test_keystore_finds_the_tenant_of_a_key_and_nothing_else():
    keys = KeyStore.from_pairs([("acme", "k1"), ("globex", "k2")])
    assert keys.tenant_for("k1") == "acme"
    assert keys.tenant_for("k2") == "globex"
    assert keys.tenant_for("k3") is None
    assert keys.tenant_for("") is None
    assert keys.tenant_for(None) is None
    assert all(b"k1" not in digest for digest, _ in keys.entries)


def test_api_keys_from_env_string_then_from_the_home_file(tmp_path: Path):
    assert GatewaySettings(api_keys="a:1, b:2", home=tmp_path).api_key_pairs() == [("a", "1"), ("b", "2")]
    (tmp_path / "api-key").write_text("demo:xyz\n")
    assert GatewaySettings(api_keys=None, home=tmp_path).api_key_pairs() == [("demo", "xyz")]


@pytest.mark.parametrize("raw", ["nocolon", ":key", "tenant:"])
def test_malformed_keys_are_a_config_error_without_echoing_the_secret(raw, tmp_path):
    with pytest.raises(ConfigError) as info:
        create_app(GatewaySettings(api_keys=raw, home=tmp_path))
    assert "key" not in str(info.value).split("entry")[1].split("is not")[0] or raw.startswith(":")


def test_no_keys_at_all_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no API keys"):
        create_app(GatewaySettings(api_keys=None, home=tmp_path))
