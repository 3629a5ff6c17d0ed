"""The FastAPI application: `create_app(settings)` wires routes, the producer's lifetime and error answers.
`app_factory()` is the import string uvicorn calls in each worker process (each gets its own producer)."""

import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.deps import STOPPING
from gateway.edge import EdgeValidator
from gateway.exceptions import ConfigError, GatewayError
from gateway.ratelimit import SLOTS, RateLimiter
from gateway.responses import JSON
from gateway.routes import events, health
from gateway.settings import GatewaySettings, get_settings
from gateway.tenants import TenantDirectory
from ingest.envelope import EventEnvelope
from ingest.producer import AsyncProducer
from observability.exposition import worker_exited
from observability.metrics import GATEWAY_REQUEST_SECONDS, GATEWAY_REQUESTS
from quality.exceptions import QualityError

log = logging.getLogger(__name__)


class _CountRequests:
    """Requests by route and status, and their end-to-end latency (pure ASGI: the body stream is untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (route, status) -> the metrics' labelled children: `labels()` takes a lock and builds keys each call.
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            children = self._children.get((route, status[0]))
            if children is None:
                children = (GATEWAY_REQUESTS.labels(route, str(status[0])), GATEWAY_REQUEST_SECONDS.labels(route))
                if len(self._children) < 1000:  # routes x status codes: bounded anyway
                    self._children[(route, status[0])] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    try:
        tenants = TenantDirectory.from_settings(settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not len(tenants):
        raise ConfigError(
            "no API keys: set WEIR_API_KEYS=tenant:key[,tenant:key] or run `weir up`, which writes "
            f"{settings.home / 'api-key'}"
        )
    if tenants.limited() > SLOTS:
        raise ConfigError(f"{tenants.limited()} tenants have a rate limit; the gateway holds at most {SLOTS}")
    try:
        edge = EdgeValidator.from_dir(settings.contracts_dir)
    except QualityError as exc:
        raise ConfigError(f"the contracts for edge validation are broken:\n{exc}") from exc

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        STOPPING.clear()
        _hook_sigterm(settings.shutdown_drain_s)
        app.state.producer = AsyncProducer(
            settings.kafka_bootstrap, client_id="weir-gateway", delivery_timeout_ms=settings.delivery_timeout_ms
        )
        try:
            yield
        finally:
            # uvicorn calls this after the in-flight requests finished: flush what is left, then stop.
            left = app.state.producer.close(timeout_s=settings.delivery_timeout_ms / 1000 + 1)
            if left:
                log.error("shutdown: %d events were still unacknowledged by Kafka", left)
            worker_exited()

    app = FastAPI(
        title="Weir ingest gateway",
        version="0.2.0",
        description="POST events; 202 means Kafka acknowledged them (acks=all). Batches answer per event.",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    app.state.settings = settings
    app.state.tenants = tenants
    # Shared by the worker processes through `rate_limit_file` (set by `weir gateway --workers N`).
    app.state.limiter = RateLimiter(path=settings.rate_limit_file)
    app.state.edge = edge
    app.add_middleware(_CountRequests)

    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSON:
        return JSON({"error": exc.message}, status_code=exc.status_code, headers=exc.headers)

    app.include_router(events.router)
    app.include_router(health.router)
    # The request body is read raw (to tell 400 from 422); publish the envelope's schema for /docs.
    app.openapi_schema = None
    _register_schema(app)
    return app


def _hook_sigterm(drain_s: float) -> None:
    """Chain onto uvicorn's SIGTERM/SIGINT handler (`Server.handle_exit`, installed before startup): readiness
    goes false at once; after `drain_s` seconds uvicorn stops listening, lets in-flight requests finish, then
    the lifespan's shutdown flushes the producer. Only in the main thread (not under TestClient)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Callable[..., object] = previous) -> None:
            first = not STOPPING.is_set()
            STOPPING.set()
            if first and drain_s > 0:
                log.info("stopping: readiness is false; draining for %.1fs before closing the listener", drain_s)
                threading.Timer(drain_s, previous, (signum, frame)).start()
            else:
                previous(signum, frame)

        signal.signal(sig, handler)


def app_factory() -> FastAPI:
    """For `uvicorn --factory gateway.app:app_factory`: settings from the environment."""
    return create_app(get_settings())


def _register_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["EventEnvelope"] = EventEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
