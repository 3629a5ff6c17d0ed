"""Edge validation with a temporary contracts directory: blocking rules refuse, warn rules do not."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.edge import EdgeValidator
from gateway.exceptions import ConfigError
from gateway.settings import GatewaySettings
from quality import load_contracts
from tests.gateway.test_events_route import KEY
from tests.support import MetricDeltas, make_event

CHECKED = """\
event_type: shop.sale
schema_versions: [1]
edge_validation: true
fields:
  sku: {type: string, required: true}
rules:
  - id: qty-positive
    rule: between
    field: payload.qty
    params: {min: 1, max: 100}
    severity: quarantine
  - id: sku-shape
    rule: regex_match
    field: payload.sku
    params: {pattern: '^S-[0-9]+$'}
    severity: fail
  - id: note-not-blank
    rule: not_blank
    field: payload.note
    severity: warn
"""
UNCHECKED = CHECKED.replace("shop.sale", "shop.refund").replace("edge_validation: true", "edge_validation: false")
DEFAULT = """\
event_type: _default
schema_versions: [1]
rules:
  - {id: default.payload-not-empty, rule: not_empty, field: payload, severity: quarantine}
"""


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    directory = tmp_path / "contracts"
    directory.mkdir()
    (directory / "shop.sale.yaml").write_text(CHECKED)
    (directory / "shop.refund.yaml").write_text(UNCHECKED)
    (directory / "_default.yaml").write_text(DEFAULT)
    return directory


@pytest.fixture
def client(kafka_bootstrap, tmp_path, contracts):
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap, api_keys="acme:k-acme", home=tmp_path, contracts_dir=contracts
    )
    with TestClient(create_app(settings)) as c:
        yield c


def sale(**payload: object) -> dict[str, object]:
    return make_event(event_type="shop.sale", payload={"sku": "S-1", "qty": 2, **payload})


@pytest.mark.integration
def test_blocking_rules_refuse_the_event_with_rule_ids(client):
    r = client.post("/v1/events", json=sale(qty=0, sku="bad"), headers=KEY)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {e["rule"] for e in errors} == {"qty-positive", "sku-shape"}
    assert {e["severity"] for e in errors} == {"quarantine", "fail"}
    assert {e["path"] for e in errors} == {"payload.qty", "payload.sku"}
    r = client.post("/v1/events", json=make_event(event_type="shop.sale", payload={"qty": 1}), headers=KEY)
    assert [e["rule"] for e in r.json()["errors"]] == ["schema.sku.required"]


@pytest.mark.integration
def test_warn_failures_are_accepted_and_counted(client):
    delta = MetricDeltas(lambda: client.get("/metrics").text)
    r = client.post("/v1/events", json=sale(note="   "), headers=KEY)
    assert r.status_code == 202, r.text
    assert delta.rescrape()("weir_gateway_edge_warnings_total", rule="note-not-blank", tenant="acme") == 1


@pytest.mark.integration
def test_contracts_without_edge_validation_are_not_checked_at_the_edge(client):
    refund = make_event(event_type="shop.refund", payload={"sku": "bad", "qty": 0})
    assert client.post("/v1/events", json=refund, headers=KEY).status_code == 202
    # _default has no edge_validation either: an empty payload passes the gateway (the stream quarantines it).
    assert client.post("/v1/events", json=make_event(event_type="x.y", payload={}), headers=KEY).status_code == 202


@pytest.mark.integration
def test_in_a_batch_only_the_breaking_events_are_rejected(client):
    r = client.post("/v1/events/batch", json=[sale(), sale(qty=1000), sale(note="")], headers=KEY)
    assert r.status_code == 207
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["errors"][0]["rule"] == "qty-positive"


def test_only_rules_the_python_engine_supports_are_used(contracts):
    edge = EdgeValidator(load_contracts(contracts))
    assert [r.id for r in edge.rules_for("shop.sale")] == [
        "schema.sku.required",
        "schema.sku.type",
        "qty-positive",
        "sku-shape",
        "note-not-blank",
    ]
    assert edge.rules_for("shop.refund") == ()
    assert edge.rules_for("unknown.type") == ()


def test_the_repo_contracts_load_and_check_orders():
    edge = EdgeValidator.from_dir(None)
    record = {
        "event_type": "order.created",
        "occurred_at": "2026-11-25T10:00:00.000000Z",
        "payload": {"order_id": "A-1", "amount": 5, "currency": "XXX?"},
    }
    errors, _ = edge.check(record)
    assert [e["rule"] for e in errors] == ["currency-iso"]


def test_broken_contracts_are_a_config_error(tmp_path, contracts):
    (contracts / "shop.sale.yaml").write_text(CHECKED.replace("between", "no_such_rule"))
    with pytest.raises(ConfigError, match=r"shop\.sale\.yaml"):
        create_app(GatewaySettings(api_keys="acme:k", home=tmp_path, contracts_dir=contracts))
    with pytest.raises(ConfigError, match="no such contracts directory"):
        create_app(GatewaySettings(api_keys="acme:k", home=tmp_path, contracts_dir=tmp_path / "nope"))
