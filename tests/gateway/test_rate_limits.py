"""Token buckets with an injected clock, then the limits through the app (TestClient on the session broker)."""

import math
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.exceptions import PayloadTooLarge
from gateway.ratelimit import RequestTooLarge
from gateway.tenants import RateLimiter, Tenant
from tests.support import make_event


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_an_unlimited_tenant_is_never_limited(clock):
    limiter = RateLimiter(clock)
    for _ in range(1000):
        assert limiter.acquire(Tenant("free"), 1000, 10**9) is None


def test_events_bucket_allows_the_burst_then_says_how_long_to_wait(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=2)  # capacity 20
    assert limiter.acquire(tenant, 15, 0) is None
    assert limiter.acquire(tenant, 5, 0) is None
    wait = limiter.acquire(tenant, 1, 0)
    assert wait == pytest.approx(0.1)
    assert limiter.acquire(tenant, 3, 0) == pytest.approx(0.3)
    clock.advance(0.3)
    assert limiter.acquire(tenant, 3, 0) is None
    assert limiter.acquire(tenant, 1, 0) == pytest.approx(0.1)


def test_refill_is_capped_at_the_capacity(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=1)
    assert limiter.acquire(tenant, 10, 0) is None
    clock.advance(3600)
    assert limiter.acquire(tenant, 10, 0) is None
    assert limiter.acquire(tenant, 1, 0) == pytest.approx(0.1)


def test_a_clock_going_backwards_adds_nothing(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10)
    assert limiter.acquire(tenant, 10, 0) is None
    clock.advance(-5)
    assert limiter.acquire(tenant, 1, 0) == pytest.approx(0.1)
    clock.advance(5.05)
    assert limiter.acquire(tenant, 1, 0) == pytest.approx(0.05)


def test_bytes_bucket_limits_and_takes_nothing_when_a_bucket_is_short(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=100, bytes_per_second=1000, burst_seconds=1)
    assert limiter.acquire(tenant, 1, 900) is None
    assert limiter.acquire(tenant, 1, 400) == pytest.approx(0.3)
    # Nothing was taken by the refused request: 99 events are still there.
    assert limiter.acquire(tenant, 99, 100) is None
    assert limiter.acquire(tenant, 1, 0) == pytest.approx(0.01)


def test_the_wait_is_the_longer_of_both_buckets(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, bytes_per_second=100)
    assert limiter.acquire(tenant, 10, 100) is None
    assert limiter.acquire(tenant, 2, 50) == pytest.approx(0.5)
    assert limiter.acquire(tenant, 5, 10) == pytest.approx(0.5)


def test_a_request_larger_than_the_bucket_is_413_not_a_retry(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, bytes_per_second=1000, burst_seconds=2)
    with pytest.raises(RequestTooLarge, match=r"21 events exceed the burst of tenant 'acme', 20 events") as info:
        limiter.acquire(tenant, 21, 10)
    assert isinstance(info.value, PayloadTooLarge)
    assert info.value.status_code == 413
    with pytest.raises(RequestTooLarge, match="2001 bytes"):
        limiter.acquire(tenant, 1, 2001)
    assert limiter.acquire(tenant, 20, 2000) is None  # exactly the capacity fits


def test_zero_sized_requests_always_fit_and_negative_ones_are_a_bug(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=1)
    assert limiter.acquire(tenant, 1, 0) is None
    assert limiter.acquire(tenant, 0, 0) is None
    with pytest.raises(ValueError, match=">= 0"):
        limiter.acquire(tenant, -1, 0)


def test_tenants_have_their_own_buckets_and_new_limits_start_a_new_bucket(clock):
    limiter = RateLimiter(clock)
    a, b = Tenant("a", events_per_second=1), Tenant("b", events_per_second=1)
    assert limiter.acquire(a, 1, 0) is None
    assert limiter.acquire(a, 1, 0) is not None
    assert limiter.acquire(b, 1, 0) is None
    assert limiter.acquire(Tenant("a", events_per_second=5), 5, 0) is None


def test_the_default_clock_is_monotonic():
    limiter = RateLimiter()
    tenant = Tenant("acme", events_per_second=1000, burst_seconds=0.01)  # 10 events
    assert limiter.acquire(tenant, 10, 0) is None
    wait = limiter.acquire(tenant, 10, 0)
    assert wait is not None
    assert 0 < wait <= 0.01
    time.sleep(0.02)
    assert limiter.acquire(tenant, 10, 0) is None


def test_concurrent_acquires_never_admit_more_than_the_capacity(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=1000, burst_seconds=1)
    admitted = [0] * 8

    def hammer(slot: int) -> None:
        for _ in range(500):
            if limiter.acquire(tenant, 1, 10) is None:
                admitted[slot] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 1000


def test_acquire_is_cheap(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=1e12, bytes_per_second=1e15)
    started = time.perf_counter()
    for _ in range(20_000):
        limiter.acquire(tenant, 100, 40_000)
    per_call = (time.perf_counter() - started) / 20_000
    assert per_call < 200e-6  # a few µs in practice; generous for a shared 2-core machine


# ---- through the app ---------------------------------------------------------------------------------------

TENANTS = """\
tenants:
  - name: slow
    keys: [slow-key]
    events_per_second: 0.25
    burst_seconds: 12
  - name: orders-only
    keys: [orders-key]
    event_types: [order.created]
"""


@pytest.fixture
def client(kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    tenants_file = tmp_path / "tenants.yaml"
    tenants_file.write_text(TENANTS)
    monkeypatch.setenv("WEIR_TENANTS_FILE", str(tenants_file))
    settings = GatewaySettings(kafka_bootstrap=kafka_bootstrap, api_keys="free:free-key", home=tmp_path)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


ORDER = {"order_id": "A-1", "amount": 12.5, "currency": "EUR"}


def _post(client: TestClient, key: str, **event: object):
    event.setdefault("payload", ORDER)
    return client.post("/v1/events", json=make_event(**event), headers={"X-API-Key": key})


@pytest.mark.integration
def test_429_with_retry_after_after_the_burst_then_202_after_waiting(client):
    assert _post(client, "free-key").status_code == 202  # the producer is connected: the burst below is quick
    for _ in range(3):  # the burst: 0.25/s x 12 s
        assert _post(client, "slow-key").status_code == 202
    refused = _post(client, "slow-key")
    assert refused.status_code == 429, refused.text
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 4
    assert _post(client, "free-key").status_code == 202  # other tenants are not affected
    time.sleep(math.ceil(retry_after))
    assert _post(client, "slow-key").status_code == 202


@pytest.mark.integration
def test_a_tenant_limited_to_event_types_gets_the_others_refused(client):
    assert _post(client, "orders-key", event_type="order.created").status_code == 202
    refused = _post(client, "orders-key", event_type="user.signed_up")
    assert refused.status_code in (403, 422), refused.text
    assert "user.signed_up" in refused.text
    assert _post(client, "free-key", event_type="user.signed_up").status_code == 202


@pytest.mark.integration
def test_a_batch_bigger_than_the_burst_is_413_not_429(client):
    batch = [make_event(payload=ORDER) for _ in range(4)]  # the burst holds 3
    refused = client.post("/v1/events/batch", json=batch, headers={"X-API-Key": "slow-key"})
    assert refused.status_code == 413, refused.text
    assert "Retry-After" not in refused.headers
    assert "split it" in refused.text
