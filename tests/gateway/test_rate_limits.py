"""Token buckets with an injected clock; buckets shared through a file (by limiters, by processes); then the
limits through the app (TestClient on the session broker) and across the workers of a real gateway."""

import multiprocessing
import stat
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

import gateway.body
from gateway.exceptions import ConfigError, PayloadTooLarge
from gateway.ratelimit import RateLimiter, RequestTooLarge
from gateway.tenants import Tenant
from tests.support import cpu_ticks, make_event, ready_workers


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
        assert limiter.reserve(Tenant("free"), 1000, 10**9) is None
        limiter.settle(Tenant("free"), (1000, 10**9), 10**6, 10**12)


def test_events_bucket_allows_the_burst_then_says_how_long_to_wait(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=2)  # capacity 20
    assert limiter.reserve(tenant, 15, 0) is None
    assert limiter.reserve(tenant, 5, 0) is None
    wait = limiter.reserve(tenant, 1, 0)
    assert wait == pytest.approx(0.1)
    assert limiter.reserve(tenant, 3, 0) == pytest.approx(0.3)
    clock.advance(0.3)
    assert limiter.reserve(tenant, 3, 0) is None
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.1)


def test_refill_is_capped_at_the_capacity(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=1)
    assert limiter.reserve(tenant, 10, 0) is None
    clock.advance(3600)
    assert limiter.reserve(tenant, 10, 0) is None
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.1)


def test_a_clock_going_backwards_adds_nothing(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10)
    assert limiter.reserve(tenant, 10, 0) is None
    clock.advance(-5)
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.1)
    clock.advance(5.05)
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.05)


def test_a_slot_stamped_far_ahead_of_the_clock_starts_full(clock):
    """A shared file kept across a reboot: its stamps are ahead of the new monotonic clock."""
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10)
    assert limiter.reserve(tenant, 10, 0) is None
    clock.advance(-7200)
    assert limiter.reserve(tenant, 10, 0) is None


def test_bytes_bucket_limits_and_takes_nothing_when_a_bucket_is_short(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=100, bytes_per_second=1000, burst_seconds=1)
    assert limiter.reserve(tenant, 1, 900) is None
    assert limiter.reserve(tenant, 1, 400) == pytest.approx(0.3)
    # Nothing was taken by the refused request: 99 events are still there.
    assert limiter.reserve(tenant, 99, 100) is None
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.01)


def test_the_wait_is_the_longer_of_both_buckets(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, bytes_per_second=100)
    assert limiter.reserve(tenant, 10, 100) is None
    assert limiter.reserve(tenant, 2, 50) == pytest.approx(0.5)
    assert limiter.reserve(tenant, 5, 10) == pytest.approx(0.5)


def test_settle_gives_the_surplus_back_and_takes_a_shortfall_as_a_debt(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=1)
    assert limiter.reserve(tenant, 5, 0) is None
    limiter.settle(tenant, (5, 0), 2, 0)  # 3 rejected events: given back, 8 left
    assert limiter.reserve(tenant, 8, 0) is None
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.1)
    clock.advance(0.1)
    assert limiter.reserve(tenant, 1, 0) is None  # estimated 1 ...
    limiter.settle(tenant, (1, 0), 6, 0)  # ... produced 6: 5 tokens owed
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.6)
    clock.advance(0.6)
    assert limiter.reserve(tenant, 1, 0) is None


def test_an_estimate_is_capped_at_the_capacity_and_the_exact_count_decides_a_413(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=10, bytes_per_second=1000, burst_seconds=2)  # 20 events, 2000 B
    assert limiter.reserve(tenant, 500, 10) is None  # an estimate over the capacity: takes the capacity
    limiter.settle(tenant, (500, 10), 20, 10)  # exactly the capacity fits
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(0.1)
    clock.advance(2)
    assert limiter.reserve(tenant, 21, 10) is None
    with pytest.raises(RequestTooLarge, match=r"21 events exceed the burst of tenant 'acme', 20 events") as info:
        limiter.settle(tenant, (21, 10), 21, 10)
    assert isinstance(info.value, PayloadTooLarge)
    assert info.value.status_code == 413
    assert limiter.reserve(tenant, 1, 2000) is None
    with pytest.raises(RequestTooLarge, match="2001 bytes"):
        limiter.settle(tenant, (1, 2000), 1, 2001)
    assert limiter.reserve(tenant, 20, 2000) is None  # both refused requests gave everything back


def test_zero_sized_requests_always_fit_and_negative_ones_are_a_bug(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=1, burst_seconds=5)
    assert limiter.reserve(tenant, 1, 0) is None
    assert limiter.reserve(tenant, 4, 0) is None
    limiter.settle(tenant, (1, 0), 5, 0)  # 4 owed
    assert limiter.reserve(tenant, 1, 0) == pytest.approx(5)
    assert limiter.reserve(tenant, 0, 0) is None
    with pytest.raises(ValueError, match=">= 0"):
        limiter.reserve(tenant, -1, 0)
    with pytest.raises(ValueError, match=">= 0"):
        limiter.settle(tenant, (1, 0), -1, 0)


def test_tenants_have_their_own_buckets_and_new_limits_start_a_new_bucket(clock):
    limiter = RateLimiter(clock)
    a, b = Tenant("a", events_per_second=1), Tenant("b", events_per_second=1)
    assert limiter.reserve(a, 1, 0) is None
    assert limiter.reserve(a, 1, 0) is not None
    assert limiter.reserve(b, 1, 0) is None
    assert limiter.reserve(Tenant("a", events_per_second=5), 5, 0) is None


def test_the_default_clock_is_monotonic():
    limiter = RateLimiter()
    tenant = Tenant("acme", events_per_second=1000, burst_seconds=0.01)  # 10 events
    assert limiter.reserve(tenant, 10, 0) is None
    wait = limiter.reserve(tenant, 10, 0)
    assert wait is not None
    assert 0 < wait <= 0.01
    time.sleep(0.02)
    assert limiter.reserve(tenant, 10, 0) is None


def test_concurrent_reserves_never_admit_more_than_the_capacity(clock):
    limiter = RateLimiter(clock)
    tenant = Tenant("acme", events_per_second=1000, burst_seconds=1)
    admitted = [0] * 8

    def hammer(slot: int) -> None:
        for _ in range(500):
            if limiter.reserve(tenant, 1, 10) is None:
                admitted[slot] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 1000


@pytest.mark.parametrize("shared", [False, True])
def test_reserve_and_settle_are_cheap(clock, tmp_path, shared):
    limiter = RateLimiter(clock, path=tmp_path / "buckets" if shared else None)
    tenant = Tenant("acme", events_per_second=1e12, bytes_per_second=1e15)
    started = time.perf_counter()
    for _ in range(20_000):
        limiter.reserve(tenant, 100, 40_000)
        limiter.settle(tenant, (100, 40_000), 100, 41_000)
    per_request = (time.perf_counter() - started) / 20_000
    assert per_request < 200e-6  # ~5 µs in practice; generous for a shared 2-core machine


# ---- buckets shared through a file -------------------------------------------------------------------------


def test_limiters_on_one_file_share_the_buckets(clock, tmp_path):
    """Two workers' limiters: what one takes, the other cannot."""
    path = tmp_path / "buckets"
    one, two = RateLimiter(clock, path=path), RateLimiter(clock, path=path)
    tenant = Tenant("acme", events_per_second=10, burst_seconds=1)
    assert one.reserve(tenant, 6, 0) is None
    assert two.reserve(tenant, 5, 0) == pytest.approx(0.1)
    assert two.reserve(tenant, 4, 0) is None
    assert one.reserve(tenant, 1, 0) == pytest.approx(0.1)
    one.settle(tenant, (6, 0), 0, 0)
    assert two.reserve(tenant, 6, 0) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_that_is_not_a_bucket_table_is_refused(tmp_path):
    path = tmp_path / "buckets"
    path.write_bytes(b"not a table")
    with pytest.raises(ConfigError, match="not a rate-limit table"):
        RateLimiter(path=path)


def _hammer(path: str, start: Any, results: Any) -> None:
    limiter = RateLimiter(path=Path(path))
    tenant = Tenant("acme", events_per_second=0.001, burst_seconds=5_000_000)  # 5000 events, no refill to speak of
    start.wait(timeout=60)
    results.put(sum(1 for _ in range(20_000) if limiter.reserve(tenant, 1, 0) is None))


def test_processes_on_one_file_never_admit_more_than_the_capacity(tmp_path):
    spawn = multiprocessing.get_context("spawn")  # like uvicorn's workers
    results: multiprocessing.Queue[int] = spawn.Queue()
    start = spawn.Barrier(2)
    procs = [spawn.Process(target=_hammer, args=(str(tmp_path / "buckets"), start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    counts = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert sum(counts) == 5000, counts
    assert all(counts), counts  # both took part


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
    time.sleep(retry_after)
    assert _post(client, "slow-key").status_code == 202


@pytest.mark.integration
def test_a_throttled_tenant_is_refused_before_its_body_is_parsed(client, monkeypatch):
    for _ in range(3):
        assert _post(client, "slow-key").status_code == 202
    parsed: list[int] = []
    parse = gateway.body._parse
    monkeypatch.setattr(
        gateway.body, "_parse", lambda data, *a, **kw: parsed.append(len(data)) or parse(data, *a, **kw)
    )
    key = {"X-API-Key": "slow-key"}
    events = [make_event(payload=ORDER) for _ in range(2)]
    answers = [
        _post(client, "slow-key"),
        client.post("/v1/events/batch", json=events, headers=key),
        client.post(
            "/v1/events/batch",
            content=b"\n".join(map(orjson.dumps, events)),
            headers={**key, "Content-Type": "application/x-ndjson"},
        ),
        client.post("/v1/events", content=b"{not even json", headers=key),
    ]
    assert [r.status_code for r in answers] == [429] * 4, [r.text for r in answers]
    assert parsed == []
    assert _post(client, "free-key").status_code == 202
    assert parsed  # the spy works


@pytest.mark.integration
def test_rejected_events_are_given_back(client):
    batch = [make_event(payload=ORDER), make_event(event_id="bad"), make_event(event_id="bad")]
    r = client.post("/v1/events/batch", json=batch, headers={"X-API-Key": "slow-key"})  # reserves 3, uses 1
    assert r.status_code == 207, r.text
    assert [_post(client, "slow-key").status_code for _ in range(3)] == [202, 202, 429]


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
    assert _post(client, "slow-key").status_code == 202  # the refused batch gave its reservation back


# ---- across the workers of a real gateway ------------------------------------------------------------------

RATE, BURST_S, SECONDS, PER_REQUEST = 10, 1, 5.0, 2


@pytest.mark.integration
def test_with_two_workers_a_tenant_gets_its_rate_in_total_not_twice_it(kafka_bootstrap, gateway_factory, tmp_path):
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(
        f"tenants:\n  - {{name: metered, keys: [metered-key], events_per_second: {RATE}, burst_seconds: {BURST_S}}}\n"
    )
    gw = gateway_factory(kafka_bootstrap, WEIR_GATEWAY_WORKERS="2", WEIR_TENANTS_FILE=str(tenants))
    _, workers = ready_workers(gw, 2)
    busy_before = {w: cpu_ticks(w) for w in workers}
    accepted, offered = [0], [0]
    statuses: set[int] = set()
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def post() -> None:
        # A connection per request (no keep-alive): the kernel hands them to both workers.
        with httpx.Client(
            headers={"X-API-Key": "metered-key"}, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        ) as client:
            while time.monotonic() < stop_at:
                r = client.post(
                    f"{gw.url}/v1/events/batch", json=[make_event(payload=ORDER) for _ in range(PER_REQUEST)]
                )
                with lock:
                    statuses.add(r.status_code)
                    offered[0] += PER_REQUEST
                    accepted[0] += PER_REQUEST if r.status_code == 202 else 0
                time.sleep(0.01)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy = {w: cpu_ticks(w) - busy_before[w] for w in workers}
    facts = {"accepted": accepted[0], "offered": offered[0], "statuses": statuses, "cpu_ticks": busy}
    # An idle worker uses no CPU tick in those seconds; one serving a share of the requests uses several.
    assert all(ticks >= 3 for ticks in busy.values()), f"both workers must serve: {facts}"
    allowed = RATE * BURST_S + RATE * SECONDS  # the burst, then the refill
    assert offered[0] >= 3 * allowed, f"the clients must offer well over twice the rate: {facts}"
    assert statuses == {202, 429}, facts
    assert 0.7 * RATE * SECONDS <= accepted[0] <= 1.15 * allowed + PER_REQUEST, facts
