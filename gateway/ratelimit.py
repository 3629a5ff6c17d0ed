"""Per-tenant rate limits, held across the gateway's worker processes: two token buckets per tenant, events/s
and bytes/s.

A bucket holds at most `rate x burst_seconds` tokens and refills continuously at `rate` per second, read from a
monotonic clock (wall-clock jumps never refill or drain it). What a request costs is the events it gets
produced to Kafka and their bytes (the records as produced): rejected events cost nothing.

**Checked before the body is parsed.** The exact cost is known only after validation, so a request is charged
in two steps: `reserve(tenant, events, nbytes)` with an estimate made without parsing (1 event for
`POST /v1/events`; the NDJSON body's lines; the JSON array's `"event_id"` keys; the body's length for the
bytes), all or nothing, before anything is parsed: when a bucket is short nothing is taken and the answer is
the seconds until it would hold enough (the 429's `Retry-After`). So a throttled tenant costs a body read and
a few µs, never a parse. Then `settle(tenant, estimate, events, nbytes)` replaces the estimate by the exact
cost: the surplus goes back, a shortfall is taken anyway, and may leave the bucket below zero, a debt that
later requests wait for. Over time a tenant gets its rate, whatever the estimates; an estimate too high can
refuse a request early, which its retry recovers. An estimate is capped at a bucket's capacity; a request whose
exact cost exceeds the capacity can never be admitted: `settle` gives the reservation back and raises
`RequestTooLarge` (an HTTP 413 `PayloadTooLarge`), the client must split it. Zero-sized requests always fit.

**Across workers.** The buckets live in a table of fixed slots (`SLOTS` tenants, 64 bytes each) in a
memory-mapped file, `WEIR_RATE_LIMIT_FILE`: `weir gateway --workers N` (N > 1) points it at a file in a fresh
directory before uvicorn starts the workers (`gateway.main`), and each worker maps the same file, so a tenant
gets its rate in total, not N times it. Every call takes the file's lock (`flock`) around a few float
operations: reserve and settle together cost 5-15 µs per request of a limited tenant on the shared 2-core
machine (nothing for an unlimited one). Without the file (one worker, tests) the table is private memory. With
it, the clock must be `time.monotonic` (one clock for every process of the machine); a slot stamped more than an
hour ahead of it (a file kept across a reboot) starts full again.
"""

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gateway.exceptions import ConfigError, PayloadTooLarge
from gateway.tenants import Tenant

Clock = Callable[[], float]
SLOTS = 4096
# A slot: the tenant name's digest (all zeros: free), then events/s, bytes/s (-1: unlimited), burst seconds,
# event tokens, byte tokens, and the clock reading they were refilled at.
_SLOT = struct.Struct("=16s6d")
_STATE = struct.Struct("=6d")
_FREE = bytes(16)
_SIZE = SLOTS * _SLOT.size
_UNLIMITED = -1.0
_EPSILON = 1e-9  # float refill arithmetic: a shortfall this small (relative to the capacity) counts as none
_STALE_S = 3600.0

# (events/s, bytes/s, burst seconds, event tokens, byte tokens, refilled at)
_State = tuple[float, float, float, float, float, float]


class RequestTooLarge(PayloadTooLarge):
    """The request is bigger than the tenant's bucket: it can never be admitted, whatever the wait (413)."""


def _limits(tenant: Tenant) -> tuple[float, float, float]:
    eps, bps = tenant.events_per_second, tenant.bytes_per_second
    return (
        _UNLIMITED if eps is None else float(eps),
        _UNLIMITED if bps is None else float(bps),
        float(tenant.burst_seconds),
    )


def _held(amount: float, rate: float, capacity: float) -> float:
    """What a reservation of `amount` takes from a bucket: nothing from an unlimited one, at most its capacity."""
    return 0.0 if rate < 0 else min(float(amount), capacity)


def _wait(tokens: float, amount: float, rate: float, capacity: float) -> float:
    """Seconds until `amount` tokens are there (0.0 when they already are, or nothing is asked)."""
    if amount <= 0 or rate < 0:
        return 0.0
    missing = amount - tokens
    return missing / rate if missing > _EPSILON * max(1.0, capacity) else 0.0


class RateLimiter:
    """Per-tenant token buckets (events/s and bytes/s); thread-safe, and process-safe through `path`.

    `reserve(tenant, events, nbytes)` answers None when the estimate was taken, else the seconds to wait (nothing
    taken); `settle(tenant, (events, nbytes) reserved, events, nbytes)` replaces it by the exact cost, or gives
    it back and raises `RequestTooLarge` when the exact cost never fits.
    """

    def __init__(self, clock: Clock = time.monotonic, path: Path | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._offsets: dict[str, int] = {}
        self._fd = -1
        if path is None:
            self._mem = mmap.mmap(-1, _SIZE)
            return
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:  # new: zeros, every slot free (whichever worker comes first)
                os.ftruncate(self._fd, _SIZE)
            elif size != _SIZE:
                raise ConfigError(f"{path} is not a rate-limit table ({size} bytes, not {_SIZE})")
            self._mem = mmap.mmap(self._fd, _SIZE)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reserve(self, tenant: Tenant, events: int, nbytes: int) -> float | None:
        if tenant.events_per_second is None and tenant.bytes_per_second is None:
            return None
        if events < 0 or nbytes < 0:
            raise ValueError("events and nbytes must be >= 0")
        with self._lock:
            self._acquire_file()
            try:
                offset, (eps, bps, burst, etok, btok, at) = self._state(tenant)
                ecap, bcap = eps * burst, bps * burst
                ewant, bwant = _held(events, eps, ecap), _held(nbytes, bps, bcap)
                wait = max(_wait(etok, ewant, eps, ecap), _wait(btok, bwant, bps, bcap))
                if wait == 0:
                    etok = max(0.0, etok - ewant) if ewant > 0 else etok
                    btok = max(0.0, btok - bwant) if bwant > 0 else btok
                _STATE.pack_into(self._mem, offset + 16, eps, bps, burst, etok, btok, at)
            finally:
                self._release_file()
        return wait if wait > 0 else None

    def settle(self, tenant: Tenant, reserved: tuple[int, int], events: int, nbytes: int) -> None:
        if tenant.events_per_second is None and tenant.bytes_per_second is None:
            return
        if events < 0 or nbytes < 0:
            raise ValueError("events and nbytes must be >= 0")
        eps, bps, burst = _limits(tenant)
        ecap, bcap = eps * burst, bps * burst
        too_large = (eps >= 0 and events > ecap) or (bps >= 0 and nbytes > bcap)
        exact = (0, 0) if too_large else (events, nbytes)  # too large: the whole reservation goes back
        edue = 0.0 if eps < 0 else exact[0] - _held(reserved[0], eps, ecap)
        bdue = 0.0 if bps < 0 else exact[1] - _held(reserved[1], bps, bcap)
        if edue or bdue:
            with self._lock:
                self._acquire_file()
                try:
                    offset, (eps, bps, burst, etok, btok, at) = self._state(tenant)
                    etok, btok = min(eps * burst, etok - edue), min(bps * burst, btok - bdue)
                    _STATE.pack_into(self._mem, offset + 16, eps, bps, burst, etok, btok, at)
                finally:
                    self._release_file()
        if too_large:
            amount, unit, rate, cap = (
                (events, "events", eps, ecap) if eps >= 0 and events > ecap else (nbytes, "bytes", bps, bcap)
            )
            raise RequestTooLarge(
                f"the request's {amount:.0f} {unit} exceed the burst of tenant {tenant.name!r}, {cap:.0f} {unit} "
                f"({rate:g}/s x {tenant.burst_seconds:g} s): it can never be admitted; split it into smaller requests"
            )

    def _acquire_file(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _release_file(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _state(self, tenant: Tenant) -> tuple[int, _State]:
        """The tenant's slot and its buckets, refilled to now (under both locks). First use, new limits, or a
        stamp from before a reboot: the buckets start full."""
        offset = self._offsets.get(tenant.name)
        if offset is None:
            offset = self._offsets[tenant.name] = self._slot_of(tenant.name)
        now = self._clock()
        eps, bps, burst, etok, btok, at = _STATE.unpack_from(self._mem, offset + 16)
        limits = _limits(tenant)
        if (eps, bps, burst) != limits or at - now > _STALE_S:
            eps, bps, burst = limits
            return offset, (eps, bps, burst, eps * burst, bps * burst, now)
        if now > at:
            elapsed = now - at
            if eps >= 0:
                etok = min(eps * burst, etok + elapsed * eps)
            if bps >= 0:
                btok = min(bps * burst, btok + elapsed * bps)
            at = now
        return offset, (eps, bps, burst, etok, btok, at)

    def _slot_of(self, name: str) -> int:
        """The offset of `name`'s slot, claimed if new (open addressing; slots are never freed)."""
        digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
        start = int.from_bytes(digest[:8], "little")
        for probe in range(SLOTS):
            offset = (start + probe) % SLOTS * _SLOT.size
            found = self._mem[offset : offset + 16]
            if found == digest:
                return offset
            if found == _FREE:
                self._mem[offset : offset + 16] = digest
                return offset
        raise ConfigError(f"the rate-limit table is full: more than {SLOTS} tenants with a rate limit")
