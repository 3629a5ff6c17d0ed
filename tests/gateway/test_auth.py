import hashlib
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.auth import KeyStore, entry_digest, key_from_headers
from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings
from tests.support import quoted_pieces


def test_keystore_finds_the_tenant_of_a_key_and_nothing_else():
    keys = KeyStore.from_pairs([("acme", "k1"), ("globex", "k2")])
    assert keys.tenant_for("k1") == "acme"
    assert keys.tenant_for("k2") == "globex"
    assert keys.tenant_for("k3") is None
    assert keys.tenant_for("") is None
    assert keys.tenant_for(None) is None
    assert all(b"k1" not in digest for digest, _ in keys.entries)


def test_a_prehashed_entry_accepts_the_key_but_not_the_digest_itself():
    hexdigest = hashlib.sha256(b"s3cret").hexdigest()
    keys = KeyStore.from_pairs([("acme", f"sha256:{hexdigest}"), ("globex", "k2")])
    assert keys.tenant_for("s3cret") == "acme"
    assert keys.tenant_for(f"sha256:{hexdigest}") is None
    assert keys.tenant_for(hexdigest) is None
    assert keys.tenant_for("k2") == "globex"


@pytest.mark.parametrize("entry", ["sha256:abc", "sha256:" + "z" * 64, "sha256:", ""])
def test_malformed_prehashed_entries_are_refused(entry):
    with pytest.raises(ValueError, match=r"64 hex|empty"):
        entry_digest(entry)


def test_the_same_key_for_two_tenants_is_refused_and_a_repeat_is_harmless():
    with pytest.raises(ValueError, match="'acme' and 'globex'") as info:
        KeyStore.from_pairs([("acme", "k1"), ("globex", "k1")])
    assert "k1" not in str(info.value)
    hexdigest = hashlib.sha256(b"k1").hexdigest()
    with pytest.raises(ValueError, match="same API key"):
        KeyStore.from_pairs([("acme", "k1"), ("globex", f"sha256:{hexdigest}")])
    assert len(KeyStore.from_pairs([("acme", "k1"), ("acme", "k1")]).entries) == 1


def test_key_from_headers_prefers_x_api_key_then_bearer():
    assert key_from_headers("a", "Bearer b") == "a"
    assert key_from_headers(None, "Bearer b") == "b"
    assert key_from_headers(None, "bearer  b ") == "b"
    assert key_from_headers(None, "Basic b") is None
    assert key_from_headers(None, "Bearer ") is None
    assert key_from_headers(None, None) is None


def test_api_keys_from_env_string_then_from_the_home_file(tmp_path: Path):
    assert GatewaySettings(api_keys="a:1, b:2", home=tmp_path).api_key_pairs() == [("a", "1"), ("b", "2")]
    (tmp_path / "api-key").write_text("demo:xyz\n")
    assert GatewaySettings(api_keys=None, home=tmp_path).api_key_pairs() == [("demo", "xyz")]


SECRET = "Hq4Wn8Zt2Lp6Vx9Rc3Fj"


@pytest.mark.parametrize(
    "raw", [SECRET, f":{SECRET}", f"{SECRET}:", f"acme:ok, {SECRET}", f"acme:{SECRET[:9]},{SECRET[9:]}"]
)
def test_malformed_keys_are_a_config_error_without_echoing_the_secret(raw, tmp_path, monkeypatch):
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)
    with pytest.raises(ConfigError, match="is not tenant:key") as info:
        create_app(GatewaySettings(api_keys=raw, home=tmp_path))
    assert quoted_pieces(SECRET, str(info.value)) == [], str(info.value)
    assert "WEIR_API_KEYS: entry" in str(info.value)


def test_the_settings_never_show_the_keys(tmp_path):
    settings = GatewaySettings(api_keys=f"acme:{SECRET}", home=tmp_path)
    assert quoted_pieces(SECRET, repr(settings) + str(settings) + str(settings.model_dump())) == []
    assert settings.api_key_pairs() == [("acme", SECRET)]


def test_no_keys_at_all_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)
    with pytest.raises(ConfigError, match="no API keys"):
        create_app(GatewaySettings(api_keys=None, home=tmp_path))
