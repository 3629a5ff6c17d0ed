"""The gateway in-process (FastAPI TestClient) against the real session broker."""

import gzip
import json

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from ingest.topics import EVENTS_TOPIC
from tests.support import consume_until, make_event

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "k-acme"}


@pytest.fixture
def client(kafka_bootstrap, tmp_path):
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap,
        api_keys="acme:k-acme,globex:k-globex",
        home=tmp_path,
        max_body_bytes=4096,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_202_means_the_event_is_in_kafka_with_tenant_and_received_at(client, consumer_factory):
    event = make_event(key="customer-9")
    r = client.post("/v1/events", json=event, headers={"Authorization": "Bearer k-globex"})
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "event_id": event["event_id"]}
    seen = consume_until(
        consumer_factory(EVENTS_TOPIC),
        lambda msgs: any(orjson.loads(m.value()).get("event_id") == event["event_id"] for m in msgs),
    )
    [msg] = [m for m in seen if orjson.loads(m.value()).get("event_id") == event["event_id"]]
    record = orjson.loads(msg.value())
    assert msg.key() == b"customer-9"
    assert record["tenant"] == "globex"
    assert record["received_at"].endswith("Z")
    assert record["payload"] == event["payload"]


def test_422_names_every_bad_field_and_nothing_is_published(client):
    r = client.post("/v1/events", json=make_event(event_id="nope", occurred_at="2026-01-01T00:00:00"), headers=KEY)
    assert r.status_code == 422
    assert {e["path"] for e in r.json()["errors"]} == {"event_id", "occurred_at"}


def test_tenant_in_the_body_is_refused(client):
    r = client.post("/v1/events", json=make_event(tenant="globex"), headers=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "tenant"


@pytest.mark.parametrize("body", [b"{bad", b"[1,", b"\xff\xfe", b"NaN", b'{"a": Infinity}', b'{"n": 1e999999}'])
def test_unparseable_bodies_are_400(client, body):
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "JSON" in r.json()["error"]


def test_empty_body_is_400(client):
    r = client.post("/v1/events", content=b"", headers=KEY)
    assert r.status_code == 400
    assert "empty" in r.json()["error"]


def test_a_json_array_is_not_an_event(client):
    r = client.post("/v1/events", content=json.dumps([make_event()]), headers=KEY)
    assert r.status_code == 422


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Basic k-acme"}])
def test_401_without_a_valid_key(client, headers):
    r = client.post("/v1/events", json=make_event(), headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_413_for_a_body_over_the_limit(client):
    r = client.post("/v1/events", json=make_event(payload={"blob": "x" * 5000}), headers=KEY)
    assert r.status_code == 413


def test_health_readiness_metrics_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.post("/v1/events", json=make_event(), headers=KEY)
    metrics = client.get("/metrics").text
    assert 'weir_gateway_events_total{outcome="accepted",tenant="acme"}' in metrics
    assert "weir_gateway_produce_seconds_bucket" in metrics
    schema = client.get("/openapi.json").json()
    assert "EventEnvelope" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_gzip_is_not_yet_accepted_silently(client):
    """Content-Encoding support arrives with issue #4; until then a gzip body is refused, never mis-read."""
    body = gzip.compress(orjson.dumps(make_event()))
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Encoding": "gzip"})
    assert r.status_code == 400
