"""A contract file's `in_reference` `file:` is relative to the contract file's directory, not to wherever the
loading process runs (the gateway, the stream and `weir rules check` all start in different directories)."""

from pathlib import Path

import pytest

from quality import load_contract, load_contracts
from quality.engines.python import evaluate
from quality.exceptions import ContractError

CONTRACT = """\
event_type: shipment.sent
rules:
  - id: warehouse-known
    rule: in_reference
    field: payload.warehouse
    params: {file: %s}
"""


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    directory = tmp_path / "contracts"
    (directory / "reference").mkdir(parents=True)
    (directory / "reference" / "warehouses.txt").write_text("AMS1\nFRA2\n", encoding="utf-8")
    (directory / "shipment.sent.yaml").write_text(CONTRACT % "reference/warehouses.txt")
    return directory


def test_a_relative_reference_file_is_found_beside_the_contract_from_any_directory(contracts, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_contracts(contracts)["shipment.sent"]
    (rule,) = loaded.row_rules
    assert rule.params.file == str(contracts / "reference" / "warehouses.txt")
    assert evaluate({"payload": {"warehouse": "FRA2"}}, loaded.row_rules) == []
    assert [f.rule for f in evaluate({"payload": {"warehouse": "BER1"}}, loaded.row_rules)] == ["warehouse-known"]


def test_a_same_named_file_in_the_current_directory_is_not_used(contracts, tmp_path, monkeypatch):
    decoy = tmp_path / "decoy"
    (decoy / "reference").mkdir(parents=True)
    (decoy / "reference" / "warehouses.txt").write_text("BER1\n", encoding="utf-8")
    monkeypatch.chdir(decoy)
    loaded = load_contract(contracts / "shipment.sent.yaml")
    assert [f.rule for f in evaluate({"payload": {"warehouse": "BER1"}}, loaded.row_rules)] == ["warehouse-known"]


def test_a_missing_reference_file_names_where_it_was_looked_for(tmp_path, monkeypatch):
    (tmp_path / "shipment.sent.yaml").write_text(CONTRACT % "nope.txt")
    monkeypatch.chdir("/")
    with pytest.raises(ContractError, match=f"reference file {tmp_path / 'nope.txt'} does not exist"):
        load_contract(tmp_path / "shipment.sent.yaml")


def test_an_absolute_reference_file_is_used_as_it_is(contracts, tmp_path):
    codes = tmp_path / "codes.txt"
    codes.write_text("X1\n", encoding="utf-8")
    (contracts / "shipment.sent.yaml").write_text(CONTRACT % codes)
    (rule,) = load_contract(contracts / "shipment.sent.yaml").row_rules
    assert rule.params.file == str(codes)
