"""The FastAPI application: `create_app(settings)` wires routes, the producer's lifetime and error answers."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from gateway.auth import KeyStore
from gateway.exceptions import ConfigError, GatewayError
from gateway.responses import JSON
from gateway.routes import events, health
from gateway.settings import GatewaySettings, get_settings
from ingest.envelope import EventEnvelope
from ingest.producer import AsyncProducer
from observability.metrics import GATEWAY_REQUESTS

log = logging.getLogger(__name__)


class _CountRequests(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        GATEWAY_REQUESTS.labels(getattr(route, "path", "unmatched"), str(response.status_code)).inc()
        return response


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    try:
        pairs = settings.api_key_pairs()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not pairs:
        raise ConfigError(
            "no API keys: set WEIR_API_KEYS=tenant:key[,tenant:key] or run `weir up`, which writes "
            f"{settings.home / 'api-key'}"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.producer = AsyncProducer(
            settings.kafka_bootstrap, client_id="weir-gateway", delivery_timeout_ms=settings.delivery_timeout_ms
        )
        try:
            yield
        finally:
            left = app.state.producer.close(timeout_s=settings.delivery_timeout_ms / 1000 + 1)
            if left:
                log.error("shutdown: %d events were still unacknowledged by Kafka", left)

    app = FastAPI(
        title="Weir ingest gateway",
        version="0.1.0",
        description="POST events; 202 means Kafka acknowledged them (acks=all).",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    app.state.settings = settings
    app.state.keys = KeyStore.from_pairs(pairs)
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
