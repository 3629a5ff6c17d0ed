"""Contract files: valid ones compile, broken ones say file, line and what is wrong."""

from pathlib import Path

import pytest

from quality import load_contracts, parse_contract
from quality.contract import DEFAULT_EVENT_TYPE
from quality.exceptions import ContractError
from quality.loader import contract_for, load_contract
from quality.rules.base import Severity

GOOD = """\
event_type: order.created
description: An order was placed.
schema_versions: [1, 2]
edge_validation: true
fields:
  order_id: {type: string, required: true, description: The order's id.}
  amount: {type: number}
rules:
  - id: order-id-not-blank
    rule: not_blank
    field: payload.order_id
    severity: warn
"""


def test_a_good_contract_compiles_with_schema_rules_first():
    contract = parse_contract(GOOD, "order.created.yaml")
    assert contract.event_type == "order.created"
    assert contract.schema_versions == (1, 2)
    assert contract.edge_validation is True
    assert [r.id for r in contract.row_rules] == [
        "schema.order_id.required",
        "schema.order_id.type",
        "schema.amount.type",
        "order-id-not-blank",
    ]
    assert contract.row_rules[-1].severity is Severity.WARN
    assert contract.row_rules[0].severity is Severity.QUARANTINE
    assert contract.row_rules[0].message == "payload.order_id is required"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event_type: [unclosed\n", "x.yaml:2: not valid YAML"),
        ("", "x.yaml: the file is empty"),
        ("- a\n- b\n", "x.yaml:1: a contract is a mapping"),
        ("event_type: Bad Type\n", "x.yaml:1: event_type: String should match pattern"),
        ("event_type: a.b\nfields:\n  x: {type: money}\n", "x.yaml:3: fields.x.type: Input should be"),
        (
            "event_type: a.b\nrules:\n  - id: r1\n    rule: no_such_rule\n    field: payload.x\n",
            "x.yaml:3: rules.0 (no_such_rule): unknown rule type 'no_such_rule'",
        ),
        (
            "event_type: a.b\nrules:\n  - id: r1\n    rule: not_null\n",
            "x.yaml:3: rules.0 (not_null): rule type 'not_null' needs a `field`",
        ),
        (
            "event_type: a.b\nrules:\n  - id: r1\n    rule: not_null\n    field: payload.x\n    severity: loud\n",
            "x.yaml:6: rules.0.severity: Input should be 'warn', 'quarantine' or 'fail'",
        ),
        (
            "event_type: a.b\nrules:\n  - {id: r1, rule: not_null, field: payload.x}\n"
            "  - {id: r1, rule: is_null, field: payload.y}\n",
            "x.yaml:4: rules.1.id: duplicate rule id 'r1'",
        ),
        (
            "event_type: a.b\nrules:\n  - id: r1\n    rule: not_null\n    field: payload.x\n    params: {extra: 1}\n",
            "x.yaml:6: rules.0 (not_null): params.extra: Extra inputs are not permitted",
        ),
        ("event_type: a.b\nrules:\n  - {id: r1, rule: not_null, field: 'payload..x'}\n", "x.yaml:3: rules.0.field"),
        ("event_type: a.b\nevent_type: c.d\n", "x.yaml:2: duplicate key 'event_type'"),
        ("event_type: a.b\nunknown: 1\n", "x.yaml:2: unknown: Extra inputs are not permitted"),
    ],
)
def test_broken_contracts_name_file_line_and_problem(text, expected):
    with pytest.raises(ContractError) as info:
        parse_contract(text, "x.yaml")
    assert expected in str(info.value)
    assert "Traceback" not in str(info.value)


def test_load_contracts_reports_every_broken_file_and_checks_file_names(tmp_path: Path):
    (tmp_path / "a.b.yaml").write_text("event_type: a.b\n")
    (tmp_path / "c.d.yaml").write_text("event_type: [\n")
    (tmp_path / "wrong-name.yaml").write_text("event_type: e.f\n")
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    message = str(info.value)
    assert "c.d.yaml:" in message
    assert "wrong-name.yaml:1: the file of event type 'e.f' must be named e.f.yaml" in message
    assert "a.b.yaml" not in message


def test_the_default_contract_serves_unknown_event_types(tmp_path: Path):
    (tmp_path / "_default.yaml").write_text("event_type: _default\n")
    (tmp_path / "a.b.yaml").write_text("event_type: a.b\n")
    contracts = load_contracts(tmp_path)
    assert contract_for(contracts, "a.b").event_type == "a.b"
    assert contract_for(contracts, "zzz").event_type == DEFAULT_EVENT_TYPE


def test_the_repository_contracts_are_valid():
    contracts = load_contracts(Path(__file__).resolve().parents[2] / "contracts")
    assert DEFAULT_EVENT_TYPE in contracts
    assert {"order.created", "page.viewed"} <= set(contracts)


def test_an_unreadable_file_is_a_contract_error(tmp_path: Path):
    path = tmp_path / "a.b.yaml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ContractError, match="cannot read"):
        load_contract(path)
