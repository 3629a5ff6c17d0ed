"""Bad input: each is a clear 4xx (never 5xx), and afterwards the gateway is still ready."""

import gzip
import zlib

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.body import InvalidJSON, parse_json
from gateway.settings import GatewaySettings
from tests.gateway.test_events_route import KEY, order

pytestmark = pytest.mark.integration
JSON = {**KEY, "Content-Type": "application/json"}


@pytest.fixture
def client(kafka_bootstrap, tmp_path):
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap,
        api_keys="acme:k-acme",
        home=tmp_path,
        max_body_bytes=64 * 1024,
        max_decompressed_bytes=256 * 1024,
        max_json_depth=8,
    )
    with TestClient(create_app(settings)) as c:
        yield c
        assert c.get("/readyz").status_code == 200
        assert c.get("/healthz").status_code == 200


DEEP = b'{"payload": ' + b'{"a": ' * 20 + b"1" + b"}" * 20 + b"}"
BAD_BODIES = {
    "malformed": (b"{bad", "not valid JSON"),
    "truncated": (b'{"event_id": "x"', "not valid JSON"),
    "invalid utf-8": (b'{"a": "\xff\xfe"}', "not valid JSON"),
    "lone surrogate": (b'{"a": "\\ud800"}', "not valid JSON"),
    "NaN": (b'{"a": NaN}', "not valid JSON"),
    "Infinity": (b'{"a": -Infinity}', "not valid JSON"),
    "overflowing float": (b'{"n": 1e999999}', "not valid JSON"),
    "duplicate key": (b'{"a": 1, "b": {"c": 1, "c": 2}}', "duplicate key"),
    "escaped duplicate key": (b'{"a": 1, "\\u0061": 2}', "duplicate key"),
    "huge integer": (b'{"n": 123456789012345678901234567890}', "64-bit"),
    "just over int64": (b'{"n": 9223372036854775808}', "64-bit"),
    "too deep": (DEEP, "levels"),
    "way too deep": (b"[" * 5000 + b"]" * 5000, "levels"),
    "whitespace only": (b"  \n ", "empty"),
    "empty": (b"", "empty"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
@pytest.mark.parametrize("route", ["/v1/events", "/v1/events/batch"])
def test_bad_bodies_are_400_with_a_clear_message(client, route, name):
    body, words = BAD_BODIES[name]
    if name == "too deep" and route.endswith("batch"):  # in a batch, an event too deep is rejected alone
        r = client.post(route, content=b"[" + body + b"]", headers=JSON)
        assert r.status_code == 422
        assert r.json()["results"][0]["errors"][0]["type"] == "too_deep"
        return
    r = client.post(route, content=body, headers=JSON)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]


def test_keys_inside_strings_are_not_mistaken_for_duplicates():
    value = parse_json(b'{"a": "\\"b\\": 1, \\"a\\": 2", "list": ["x", ":", "y:"], "n": 12345678901234567890.5}', 8)
    assert value["list"] == ["x", ":", "y:"]
    assert parse_json(b'{"n": -9223372036854775808, "m": 9223372036854775807}', 8)["m"] == 2**63 - 1
    with pytest.raises(InvalidJSON):
        parse_json(b'{"n": -9223372036854775809}', 8)


def test_415_for_wrong_content_types_and_encodings(client):
    body = orjson.dumps(order())
    assert client.post("/v1/events", content=body, headers={**KEY, "Content-Type": "text/plain"}).status_code == 415
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Type": "application/json; charset=latin-1"})
    assert r.status_code == 415
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 415, "NDJSON is for the batch route"
    r = client.post("/v1/events/batch", content=body, headers={**KEY, "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = client.post("/v1/events", content=body, headers={**JSON, "Content-Encoding": "br"})
    assert r.status_code == 415
    assert "gzip" in r.json()["error"]


def test_invalid_and_truncated_gzip_are_400(client):
    headers = {**JSON, "Content-Encoding": "gzip"}
    r = client.post("/v1/events", content=b"definitely not gzip", headers=headers)
    assert r.status_code == 400
    assert "gzip" in r.json()["error"]
    r = client.post("/v1/events", content=gzip.compress(orjson.dumps(order()))[:-12], headers=headers)
    assert r.status_code == 400
    assert "truncated" in r.json()["error"]


def test_a_gzip_bomb_is_413_without_inflating_it(client):
    # 1 GiB of zeros compresses to ~1 MB; a 16 MiB bomb fits the 64 KiB body limit. Inflating it all would
    # take 16 MiB; the gateway stops at the 256 KiB cap.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = compressor.compress(b"[" + b" " * (16 * 1024 * 1024)) + compressor.flush()
    assert len(bomb) < 64 * 1024
    for route in ("/v1/events", "/v1/events/batch"):
        r = client.post(route, content=bomb, headers={**JSON, "Content-Encoding": "gzip"})
        assert r.status_code == 413, r.text
        assert "decompressed" in r.json()["error"]


def test_a_body_over_the_limit_is_413_with_or_without_content_length(client):
    big = b"[" + b" " * (70 * 1024) + b"]"
    r = client.post("/v1/events/batch", content=big, headers=JSON)
    assert r.status_code == 413

    def chunks():  # chunked transfer: no Content-Length, the limit is enforced while reading
        for _ in range(70):
            yield b" " * 1024

    r = client.post("/v1/events/batch", content=chunks(), headers=JSON)
    assert r.status_code == 413
