"""FastAPI dependencies, as `Annotated` aliases: the producer, settings, the caller's tenant. They are `async`
so that FastAPI runs them on the event loop (a plain `def` dependency costs a thread hop per request). The event
routes, the hot path, skip dependency injection and call `tenant_for` themselves."""

import threading
from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.edge import EdgeValidator
from gateway.exceptions import Unauthorized
from gateway.settings import GatewaySettings
from gateway.tenants import RateLimiter, Tenant, TenantDirectory
from ingest.producer import AsyncProducer

# Set when the process was asked to stop (SIGTERM): /readyz answers 503 from then on. One per process.
STOPPING = threading.Event()


async def get_producer(request: Request) -> AsyncProducer:
    producer: AsyncProducer = request.app.state.producer
    return producer


async def get_directory(request: Request) -> TenantDirectory:
    directory: TenantDirectory = request.app.state.tenants
    return directory


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_edge(request: Request) -> EdgeValidator:
    edge: EdgeValidator = request.app.state.edge
    return edge


async def get_app_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_tenant(
    directory: Annotated[TenantDirectory, Depends(get_directory)],
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Tenant:
    return tenant_for(directory, x_api_key, authorization)


def tenant_for(directory: TenantDirectory, x_api_key: str | None, authorization: str | None) -> Tenant:
    """The tenant of the request's API key (`X-API-Key`, else `Authorization: Bearer`); 401 without one."""
    key = x_api_key
    if key is None and authorization is not None:
        scheme, _, token = authorization.partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    tenant = directory.authenticate(key)
    if tenant is None:
        raise Unauthorized(
            "a valid API key is required (X-API-Key: <key> or Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


ProducerDep = Annotated[AsyncProducer, Depends(get_producer)]
SettingsDep = Annotated[GatewaySettings, Depends(get_app_settings)]
TenantDep = Annotated[Tenant, Depends(get_tenant)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
EdgeDep = Annotated[EdgeValidator, Depends(get_edge)]
