import hashlib
from pathlib import Path

import grimp
import pytest

from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant, TenantDirectory, load_tenants_file

GOOD = """\
tenants:
  - name: acme
    keys: ["acme-key-1", "sha256:{digest}"]
    events_per_second: 100
    bytes_per_second: 50000
    burst_seconds: 2
    event_types: [order.created, order.paid]
  - name: globex
    keys: [globex-key]
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GatewaySettings:
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)
    return GatewaySettings(api_keys="demo:demo-key", home=tmp_path)


def test_the_tenants_file_gives_limits_event_types_and_hashed_keys(tmp_path, settings):
    path = _file(tmp_path, GOOD.format(digest=hashlib.sha256(b"acme-key-2").hexdigest()))
    directory = TenantDirectory.from_settings(settings, tenants_file=path)
    assert len(directory) == 3
    acme = directory.authenticate("acme-key-1")
    assert acme == Tenant("acme", frozenset({"order.created", "order.paid"}), 100, 50000, 2)
    assert directory.authenticate("acme-key-2") == acme
    assert acme.allows("order.paid")
    assert not acme.allows("user.signed_up")
    globex = directory.authenticate("globex-key")
    assert globex == Tenant("globex")
    assert globex.allows("anything.at_all")
    assert directory.authenticate("demo-key") == Tenant("demo")
    assert directory.authenticate("nope") is None
    assert directory.authenticate(None) is None
    assert all(b"acme-key-1" not in digest for digest, _ in directory.keys.entries)


def test_weir_tenants_file_is_read_from_the_environment(tmp_path, monkeypatch):
    path = _file(tmp_path, "tenants:\n  - {name: envy, keys: [envy-key], events_per_second: 5}\n")
    monkeypatch.setenv("WEIR_TENANTS_FILE", str(path))
    directory = TenantDirectory.from_settings(GatewaySettings(api_keys="demo:demo-key", home=tmp_path))
    tenant = directory.authenticate("envy-key")
    assert tenant is not None
    assert tenant.events_per_second == 5
    assert directory.authenticate("demo-key") == Tenant("demo")


def test_the_tenants_file_can_be_named_in_the_settings(tmp_path, settings, monkeypatch):
    path = _file(tmp_path, "tenants:\n  - {name: named, keys: [named-key], bytes_per_second: 900}\n")
    named = GatewaySettings(api_keys="demo:demo-key", home=tmp_path, tenants_file=path)
    tenant = TenantDirectory.from_settings(named).authenticate("named-key")
    assert tenant is not None
    assert tenant.bytes_per_second == 900
    monkeypatch.setenv("WEIR_TENANTS_FILE", "")  # set but empty: no tenants file
    assert len(TenantDirectory.from_settings(GatewaySettings(api_keys="demo:demo-key", home=tmp_path))) == 1


def test_only_the_tenants_file_without_weir_api_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)
    path = _file(tmp_path, "tenants:\n  - {name: solo, keys: [solo-key]}\n")
    directory = TenantDirectory.from_settings(GatewaySettings(api_keys="", home=tmp_path), tenants_file=path)
    assert len(directory) == 1
    assert directory.authenticate("solo-key") == Tenant("solo")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tenants: [", "not valid YAML"),
        ("[]", "tenants"),
        ("tenants:\n  - {name: a, keys: []}\n", r"tenants\.0\.keys"),
        ("tenants:\n  - {name: a}\n", r"tenants\.0\.keys: Field required"),
        ("tenants:\n  - {name: a, keys: [k], events_per_second: 0}\n", r"tenants\.0\.events_per_second"),
        ("tenants:\n  - {name: a, keys: [k], burst_seconds: -1}\n", r"tenants\.0\.burst_seconds"),
        ("tenants:\n  - {name: a, keys: [k], event_types: [Bad Type]}\n", r"tenants\.0\.event_types\.0"),
        (
            "tenants:\n  - {name: a, keys: [k], rate: 5}\n",
            r"tenants\.0: an unknown field .* the fields are burst_seconds",
        ),
        ("tenants:\n  - {name: a, keys: [k], event_type: [a.b]}\n", r"tenants\.0: .*did you mean 'event_types'"),
        ("tenant: []\n", r"\(top level\): an unknown field .*did you mean 'tenants'"),
        (
            "tenants:\n\t- {name: a, keys: [k]}\n",
            r"not valid YAML: .*'\\t' that cannot start any token \(line 2, column 1\)",
        ),
        ("tenants:\n  - {name: a, keys: ['sha256:abc']}\n", r"tenants\.0\.keys: .*64 hex"),
        ("tenants:\n  - {name: 'bad name', keys: [k]}\n", r"tenants\.0\.name"),
        ("tenants:\n  - {name: a, keys: [k1]}\n  - {name: a, keys: [k2]}\n", "'a' is defined twice"),
    ],
)
def test_a_broken_tenants_file_is_a_clear_config_error(tmp_path, settings, text, problem):
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError, match=problem) as info:
        TenantDirectory.from_settings(settings, tenants_file=path)
    assert str(path) in str(info.value)


def test_a_missing_tenants_file_is_a_config_error(tmp_path, settings):
    with pytest.raises(ConfigError, match="cannot read"):
        load_tenants_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        TenantDirectory.from_settings(settings, tenants_file=tmp_path / "absent.yaml")


def test_one_key_for_two_tenants_is_an_error_that_does_not_echo_the_key(tmp_path, settings):
    path = _file(tmp_path, "tenants:\n  - {name: a, keys: [shared-secret]}\n  - {name: b, keys: [shared-secret]}\n")
    with pytest.raises(ConfigError, match=r"same API key .* 'a' and 'b'") as info:
        TenantDirectory.from_settings(settings, tenants_file=path)
    assert "shared-secret" not in str(info.value)
    path = _file(tmp_path, "tenants:\n  - {name: a, keys: [demo-key]}\n")
    with pytest.raises(ConfigError, match="'demo' and 'a'"):
        TenantDirectory.from_settings(settings, tenants_file=path)


def test_a_tenant_in_both_sources_is_an_error(tmp_path, settings):
    path = _file(tmp_path, "tenants:\n  - {name: demo, keys: [other-key]}\n")
    with pytest.raises(ConfigError, match="'demo' is defined both in WEIR_API_KEYS"):
        TenantDirectory.from_settings(settings, tenants_file=path)


def test_malformed_weir_api_keys_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIR_TENANTS_FILE", raising=False)
    with pytest.raises(ConfigError, match="is not tenant:key"):
        TenantDirectory.from_settings(GatewaySettings(api_keys="nocolon", home=tmp_path))


def test_the_gateway_modules_import_each_other_without_a_cycle():
    graph = grimp.build_graph("gateway")  # imports under TYPE_CHECKING included
    cycles = [
        graph.find_shortest_chain(imported, module)
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(imported, module)
    ]
    assert cycles == []
