"""`POST /v1/events` in-process (FastAPI TestClient) against the real session broker: one test per answer."""

import gzip
import json
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant
from ingest.exceptions import BrokerUnavailable
from ingest.topics import EVENTS_TOPIC
from tests.support import MetricDeltas, TopicWindow, consume_until, free_port, make_event, record_of

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "k-acme"}
ORDER = {"order_id": "A-1", "amount": 12.5, "currency": "EUR"}


def order(**overrides: Any) -> dict[str, Any]:
    """An order.created event that keeps its contract (the repo's contracts/ has edge_validation: true)."""
    return make_event(**{"payload": dict(ORDER), **overrides})


class StubLimiter:
    """Answers `wait` to every reservation; records the reservations and the settlements."""

    def __init__(self, wait: float | None) -> None:
        self.wait = wait
        self.calls: list[tuple[str, int, int]] = []
        self.settled: list[tuple[str, tuple[int, int], int, int]] = []

    def reserve(self, tenant: Tenant, events: int, nbytes: int) -> float | None:
        self.calls.append((tenant.name, events, nbytes))
        return self.wait

    def settle(self, tenant: Tenant, reserved: tuple[int, int], events: int, nbytes: int) -> None:
        self.settled.append((tenant.name, reserved, events, nbytes))


class DownProducer:
    """Acknowledges the first `acked` records of each call and fails the rest, like Kafka timing out."""

    def __init__(self, real: Any, acked: int = 0) -> None:
        self.real = real
        self.acked = acked

    async def send_many(self, topic: str, records: list[tuple[bytes, bytes]]) -> list[BrokerUnavailable | None]:
        head = await self.real.send_many(topic, records[: self.acked]) if self.acked else []
        return [
            *head,
            *[BrokerUnavailable("kafka did not acknowledge the write", retry_after_s=2)] * (len(records) - len(head)),
        ]

    def queue_depth(self) -> int:
        return 0

    def check_connection(self, timeout_s: float = 2.0) -> bool:
        return True

    def close(self, timeout_s: float = 10.0) -> int:
        return int(self.real.close(timeout_s))


@pytest.fixture
def client(kafka_bootstrap, tmp_path):
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap,
        api_keys="acme:k-acme,globex:k-globex",
        home=tmp_path,
        max_body_bytes=4096,
        max_event_bytes=2048,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _in_kafka(consumer_factory, event_ids: set[str]) -> dict[str, Any]:
    def ids(msgs: list[Any]) -> set[str]:
        return {record_of(m).get("event_id") for m in msgs}

    seen = consume_until(consumer_factory(EVENTS_TOPIC), lambda msgs: event_ids <= ids(msgs))
    return {r["event_id"]: (m, r) for m in seen if (r := record_of(m)).get("event_id") in event_ids}


def test_202_means_the_event_is_in_kafka_with_tenant_and_received_at(client, consumer_factory):
    event = order(key="customer-9")
    r = client.post("/v1/events", json=event, headers={"Authorization": "Bearer k-globex"})
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "event_id": event["event_id"]}
    msg, record = _in_kafka(consumer_factory, {event["event_id"]})[event["event_id"]]
    assert msg.key() == b"customer-9"
    assert record["tenant"] == "globex"
    assert record["received_at"].endswith("Z")
    assert record["payload"] == event["payload"]


def test_gzip_bodies_are_accepted(client, consumer_factory):
    event = order()
    body = gzip.compress(orjson.dumps(event))
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Encoding": "gzip"})
    assert r.status_code == 202, r.text
    assert event["event_id"] in _in_kafka(consumer_factory, {event["event_id"]})


def test_422_names_every_bad_field_and_nothing_is_published(client, kafka_bootstrap):
    with TopicWindow(kafka_bootstrap, EVENTS_TOPIC) as window:
        r = client.post("/v1/events", json=order(event_id="nope", occurred_at="2026-01-01T00:00:00"), headers=KEY)
    assert r.status_code == 422
    assert r.json()["status"] == "rejected"
    assert {e["path"] for e in r.json()["errors"]} == {"event_id", "occurred_at"}
    assert [record_of(m) for m in window.records()] == []


def test_tenant_in_the_body_is_refused(client):
    r = client.post("/v1/events", json=order(tenant="globex"), headers=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "tenant"


def test_a_json_array_is_not_an_event(client):
    r = client.post("/v1/events", content=json.dumps([order()]), headers=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "not_an_object"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Basic k-acme"}])
def test_401_without_a_valid_key(client, headers):
    r = client.post("/v1/events", json=order(), headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_403_for_an_event_type_the_tenant_may_not_post(client):
    class Directory:
        def authenticate(self, key: str | None) -> Tenant | None:
            return Tenant("acme", frozenset({"page.viewed"})) if key == "k-acme" else None

    client.app.state.tenants = Directory()
    r = client.post("/v1/events", json=order(), headers=KEY)
    assert r.status_code == 403
    assert "order.created" in r.json()["error"]


def test_413_for_a_body_over_the_limit(client):
    r = client.post("/v1/events", json=order(payload={**ORDER, "blob": "x" * 5000}), headers=KEY)
    assert r.status_code == 413


def test_413_for_an_event_over_the_event_limit(client):
    r = client.post("/v1/events", json=order(payload={**ORDER, "blob": "x" * 3000}), headers=KEY)
    assert r.status_code == 413
    assert "event" in r.json()["error"]


def test_415_for_a_wrong_content_type(client):
    r = client.post("/v1/events", content=orjson.dumps(order()), headers={**KEY, "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_429_with_retry_after_and_nothing_produced(client, kafka_bootstrap):
    limiter = StubLimiter(2.2)
    client.app.state.limiter = limiter
    with TopicWindow(kafka_bootstrap, EVENTS_TOPIC) as window:
        r = client.post("/v1/events", json=order(), headers=KEY)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert limiter.calls[0][:2] == ("acme", 1)
    assert limiter.calls[0][2] > 100
    assert limiter.settled == []  # refused at the reservation: nothing was validated
    assert [record_of(m) for m in window.records()] == []


def test_503_with_retry_after_when_kafka_does_not_acknowledge(client):
    client.app.state.producer = DownProducer(client.app.state.producer)
    event = order()
    r = client.post("/v1/events", json=event, headers=KEY)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    assert r.json()["status"] == "unavailable"
    assert r.json()["event_id"] == event["event_id"]


def test_without_a_reachable_broker_not_ready_and_503_never_a_silent_drop(tmp_path):
    settings = GatewaySettings(
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        api_keys="acme:k-acme",
        home=tmp_path,
        delivery_timeout_ms=500,
        readiness_timeout_s=0.5,
    )
    with TestClient(create_app(settings)) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["kafka"] == "unreachable"
        assert c.get("/healthz").status_code == 200
        r = c.post("/v1/events", json=order(), headers=KEY)
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) >= 1
        r = c.post("/v1/events/batch", json=[order(), order()], headers=KEY)
        assert r.status_code == 503
        assert r.json()["unavailable"] == 2


def test_health_readiness_metrics_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    delta = MetricDeltas(lambda: client.get("/metrics").text)
    assert client.post("/v1/events", json=order(), headers=KEY).status_code == 202
    assert client.post("/v1/events", json=order(event_id="bad"), headers=KEY).status_code == 422
    delta.rescrape()
    assert delta("weir_gateway_events_total", outcome="accepted", tenant="acme") == 1
    assert delta("weir_gateway_events_total", outcome="rejected", tenant="acme") == 1
    assert delta("weir_gateway_rejected_events_total", reason="envelope", tenant="acme") == 1
    assert delta("weir_gateway_requests_total", route="/v1/events", status="202") == 1
    assert delta("weir_gateway_requests_total", route="/v1/events", status="422") == 1
    assert delta("weir_gateway_request_seconds_count", route="/v1/events") == 2
    assert delta("weir_gateway_request_seconds_bucket", le="+Inf", route="/v1/events") == 2
    assert delta("weir_gateway_produce_seconds_count") == 1
    assert delta("weir_gateway_delivery_errors_total") == 0
    metrics = client.get("/metrics").text
    assert "weir_gateway_producer_queue_messages" in metrics
    assert "weir_gateway_delivery_errors_total" in metrics
    schema = client.get("/openapi.json").json()
    assert "EventEnvelope" in schema["components"]["schemas"]
    batch = schema["paths"]["/v1/events/batch"]["post"]
    assert set(batch["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert {"202", "207", "422", "503"} <= set(batch["responses"])
    single = schema["paths"]["/v1/events"]["post"]
    assert "example" in single["responses"]["403"]["content"]["application/json"]
    assert client.get("/docs").status_code == 200
