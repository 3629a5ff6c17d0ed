"""Rule suggestion on real data: the draft is a valid contract that the data itself passes."""

import uuid

import orjson
import pytest
import yaml

from quality.engines.spark import with_dq_failures
from quality.loader import parse_contract
from quality.suggest import profile, suggest_contract

pytestmark = pytest.mark.integration


def _events(spark):
    rows = []
    for i in range(200):
        payload = {
            "order_id": str(uuid.uuid4()),
            "amount": round(5 + i * 1.5, 2),
            "status": ["new", "paid", "shipped"][i % 3],
            "email": f"user{i}@example.com",
            "note": None if i % 2 else f"free text {i}",
            "quantity": i % 7,
        }
        if i % 10 == 0:
            del payload["email"]
        rows.append(("order.created", orjson.dumps(payload).decode()))
    return spark.createDataFrame(rows, "event_type string, payload string")


def test_profile_sees_kinds_presence_and_ranges(spark):
    profiles = {p.name: p for p in profile(_events(spark))}
    assert set(profiles) == {"order_id", "amount", "status", "email", "note", "quantity"}
    assert profiles["order_id"].present == 200
    assert profiles["email"].present == 180
    assert profiles["note"].present == 100
    assert profiles["amount"].kinds["number"] + profiles["amount"].kinds["integer"] == 200
    assert profiles["quantity"].num_min == 0
    assert profiles["quantity"].num_max == 6
    assert "uuid" in profiles["order_id"].formats
    assert "email" in profiles["email"].formats


def test_the_draft_is_a_valid_contract_that_its_own_data_passes(spark):
    df = _events(spark)
    text = suggest_contract(df, "order.created")
    draft = yaml.safe_load(text)
    assert draft["event_type"] == "order.created"
    assert "DRAFT" in draft["description"]
    assert draft["fields"]["order_id"] == {
        "type": "string",
        "required": True,
        "description": "seen in 200 of 200 events",
    }
    assert "required" not in draft["fields"]["email"]
    assert draft["fields"]["quantity"]["type"] == "integer"
    by_field = {r["field"]: r for r in draft["rules"]}
    assert by_field["payload.status"]["rule"] == "in_set"
    assert by_field["payload.status"]["params"]["values"] == ["new", "paid", "shipped"]
    assert by_field["payload.order_id"]["rule"] == "uuid"
    assert by_field["payload.email"]["rule"] == "email"
    assert by_field["payload.quantity"]["params"] == {"min": 0.0, "max": 6.0}
    contract = parse_contract(text)
    checked = with_dq_failures(df, contract.row_rules)
    assert checked.where("size(dq_failures) > 0").count() == 0
    broken = spark.createDataFrame(
        [("order.created", orjson.dumps({"status": "lost", "quantity": 99}).decode())],
        "event_type string, payload string",
    )
    failed = {f.rule for f in with_dq_failures(broken, contract.row_rules).first().dq_failures}
    assert {"status-values", "quantity-range", "schema.order_id.required"} <= failed
