"""`POST /v1/events/batch`: JSON arrays and NDJSON, per-event answers, 202/207/422/503, limits per event."""

import gzip
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant
from tests.gateway.test_events_route import KEY, ORDER, DownProducer, StubLimiter, _in_kafka, order

pytestmark = pytest.mark.integration
NDJSON = {**KEY, "Content-Type": "application/x-ndjson"}


@pytest.fixture
def client(kafka_bootstrap, tmp_path):
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap,
        api_keys="acme:k-acme",
        home=tmp_path,
        max_batch_events=5,
        max_event_bytes=1024,
        max_json_depth=6,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _ndjson(*events: Any) -> bytes:
    return b"".join((e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in events)


def test_all_accepted_is_202_and_every_event_is_in_kafka(client, consumer_factory):
    events = [order(), order(key="k-2"), make_page()]
    r = client.post("/v1/events/batch", json=events, headers=KEY)
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"], body["unavailable"]) == (3, 0, 0)
    assert [x["index"] for x in body["results"]] == [0, 1, 2]
    assert [x["event_id"] for x in body["results"]] == [e["event_id"] for e in events]
    assert all(x["status"] == "accepted" and x["errors"] == [] for x in body["results"])
    found = _in_kafka(consumer_factory, {e["event_id"] for e in events})
    assert set(found) == {e["event_id"] for e in events}


def make_page() -> dict[str, Any]:
    return order(event_type="page.viewed", payload={"url": "/home"})


def test_a_mix_is_207_and_bad_events_never_refuse_their_neighbours(client, consumer_factory):
    good = [order(), order()]
    bad = [
        order(event_id="not-a-uuid"),
        order(payload={**ORDER, "blob": "x" * 2000}),  # over max_event_bytes
        order(payload={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),  # over max_json_depth
    ]
    r = client.post("/v1/events/batch", json=[bad[0], good[0], bad[1], bad[2], good[1]], headers=KEY)
    assert r.status_code == 207, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    statuses = [x["status"] for x in body["results"]]
    assert statuses == ["rejected", "accepted", "rejected", "rejected", "accepted"]
    assert body["results"][0]["errors"][0]["path"] == "event_id"
    assert body["results"][0]["event_id"] == "not-a-uuid"
    assert body["results"][2]["errors"][0]["type"] == "too_large"
    assert body["results"][3]["errors"][0]["type"] == "too_deep"
    assert set(_in_kafka(consumer_factory, {e["event_id"] for e in good})) == {e["event_id"] for e in good}


def test_none_accepted_is_422(client):
    r = client.post("/v1/events/batch", json=[order(event_id="x"), 42, "text"], headers=KEY)
    assert r.status_code == 422
    assert r.json()["accepted"] == 0
    assert [x["errors"][0]["type"] for x in r.json()["results"][1:]] == ["not_an_object", "not_an_object"]


def test_ndjson_rejects_bad_lines_alone(client, consumer_factory):
    good = [order(), make_page()]
    body = _ndjson(good[0], b'{"broken": ', b'{"a": 1, "a": 2}', b"\n", good[1], b'{"n": NaN}')
    r = client.post("/v1/events/batch", content=body, headers=NDJSON)
    assert r.status_code == 207, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "rejected", "accepted", "rejected"]
    assert "duplicate" in results[2]["errors"][0]["message"]
    assert all(x["errors"][0]["type"] == "json" for x in (results[1], results[2], results[4]))
    assert set(_in_kafka(consumer_factory, {e["event_id"] for e in good})) == {e["event_id"] for e in good}


def test_gzipped_ndjson(client):
    body = gzip.compress(_ndjson(order(), order()))
    r = client.post("/v1/events/batch", content=body, headers={**NDJSON, "Content-Encoding": "gzip"})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2


def test_gzipped_json_array(client):
    body = gzip.compress(orjson.dumps([order(), order()]))
    r = client.post(
        "/v1/events/batch",
        content=body,
        headers={**KEY, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("ndjson", [False, True])
def test_413_for_too_many_events(client, ndjson):
    events = [order() for _ in range(6)]
    if ndjson:
        r = client.post("/v1/events/batch", content=_ndjson(*events), headers=NDJSON)
    else:
        r = client.post("/v1/events/batch", json=events, headers=KEY)
    assert r.status_code == 413
    assert "6 events" in r.json()["error"]


def test_an_object_is_not_a_batch(client):
    r = client.post("/v1/events/batch", json=order(), headers=KEY)
    assert r.status_code == 400
    assert "array" in r.json()["error"]


def test_event_types_the_tenant_may_not_post_are_rejected_per_event(client):
    class Directory:
        def authenticate(self, key: str | None) -> Tenant | None:
            return Tenant("acme", frozenset({"page.viewed"})) if key == "k-acme" else None

    client.app.state.tenants = Directory()
    r = client.post("/v1/events/batch", json=[order(), make_page()], headers=KEY)
    assert r.status_code == 207
    first = r.json()["results"][0]
    assert first["status"] == "rejected"
    assert first["errors"][0]["type"] == "forbidden"


def test_a_partially_acknowledged_batch_is_207_with_unavailable_events(client, consumer_factory):
    client.app.state.producer = DownProducer(client.app.state.producer, acked=1)
    events = [order(), order(), order(event_id="bad")]
    r = client.post("/v1/events/batch", json=events, headers=KEY)
    assert r.status_code == 207, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"], body["unavailable"]) == (1, 1, 1)
    assert [x["status"] for x in body["results"]] == ["accepted", "unavailable", "rejected"]
    assert r.headers["Retry-After"] == "2"
    assert events[0]["event_id"] in _in_kafka(consumer_factory, {events[0]["event_id"]})


def test_nothing_acknowledged_is_503(client):
    client.app.state.producer = DownProducer(client.app.state.producer, acked=0)
    r = client.post("/v1/events/batch", json=[order(), order(event_id="bad")], headers=KEY)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    assert [x["status"] for x in r.json()["results"]] == ["unavailable", "rejected"]


class LimitedDirectory:
    def authenticate(self, key: str | None) -> Tenant | None:
        return Tenant("acme", events_per_second=1000) if key == "k-acme" else None


def test_429_comes_from_the_estimate_before_validation(client):
    limiter = StubLimiter(0.3)
    client.app.state.limiter = limiter
    client.app.state.tenants = LimitedDirectory()
    r = client.post("/v1/events/batch", json=[order(), order(), order(event_id="bad")], headers=KEY)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert limiter.calls[0][:2] == ("acme", 3)  # three "event_id" keys in the body
    assert limiter.settled == []


def test_only_the_events_to_produce_are_charged(client):
    limiter = StubLimiter(None)
    client.app.state.limiter = limiter
    client.app.state.tenants = LimitedDirectory()
    r = client.post("/v1/events/batch", json=[order(), order(), order(event_id="bad")], headers=KEY)
    assert r.status_code == 207
    [(tenant, reserved, events, nbytes)] = limiter.settled
    assert (tenant, reserved, events) == ("acme", tuple(limiter.calls[0][1:]), 2)
    assert 2 * 100 < nbytes < reserved[1]
