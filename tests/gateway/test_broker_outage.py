"""A real gateway process in front of a private broker that the test stops and restarts."""

import time

import httpx
import pytest

from ingest.admin import create_topics
from ingest.topics import default_topics
from tests.support import make_event

pytestmark = pytest.mark.integration


def _post(url: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/events", json=make_event(), headers={"X-API-Key": "test-key"}, timeout=30)


def test_503_while_the_broker_is_down_and_202_once_it_is_back(broker_factory, gateway_factory):
    broker = broker_factory()
    broker.start()
    create_topics(broker.bootstrap, default_topics())
    gw = gateway_factory(broker.bootstrap, WEIR_DELIVERY_TIMEOUT_MS="2000")
    assert _post(gw.url).status_code == 202
    assert httpx.get(f"{gw.url}/readyz", timeout=10).status_code == 200

    broker.stop()
    down = _post(gw.url)
    assert down.status_code == 503, down.text
    assert int(down.headers["Retry-After"]) >= 1
    assert down.json()["status"] == "unavailable"
    assert httpx.get(f"{gw.url}/readyz", timeout=10).status_code == 503
    assert httpx.get(f"{gw.url}/healthz", timeout=10).status_code == 200

    broker.start()
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = _post(gw.url).status_code
        if status == 202:
            break
        assert status == 503
        time.sleep(0.5)
    assert status == 202
    assert httpx.get(f"{gw.url}/readyz", timeout=10).status_code == 200
