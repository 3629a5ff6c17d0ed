"""FastAPI dependencies, as `Annotated` aliases: the producer and the settings (for the health routes). They are
`async` so that FastAPI runs them on the event loop (a plain `def` dependency costs a thread hop per request).
The event routes, the hot path, skip dependency injection and call `tenant_for` themselves."""

import threading
from typing import Annotated

from fastapi import Depends, Request

from gateway.auth import key_from_headers
from gateway.exceptions import Unauthorized
from gateway.settings import GatewaySettings
from gateway.tenants import Tenant, TenantDirectory
from ingest.producer import AsyncProducer

# Set when the process was asked to stop (SIGTERM): /readyz answers 503 from then on. One per process.
STOPPING = threading.Event()


async def get_producer(request: Request) -> AsyncProducer:
    producer: AsyncProducer = request.app.state.producer
    return producer


async def get_app_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def tenant_for(directory: TenantDirectory, x_api_key: str | None, authorization: str | None) -> Tenant:
    """The tenant of the request's API key (`X-API-Key`, else `Authorization: Bearer`); 401 without one. The
    answer never quotes the key sent."""
    tenant = directory.authenticate(key_from_headers(x_api_key, authorization))
    if tenant is None:
        raise Unauthorized(
            "a valid API key is required (X-API-Key: <key> or Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


ProducerDep = Annotated[AsyncProducer, Depends(get_producer)]
SettingsDep = Annotated[GatewaySettings, Depends(get_app_settings)]
