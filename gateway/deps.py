"""FastAPI dependencies, as `Annotated` aliases: the producer, the key store, the caller's tenant."""

from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.auth import KeyStore
from gateway.exceptions import Unauthorized
from gateway.settings import GatewaySettings
from ingest.producer import AsyncProducer


def get_producer(request: Request) -> AsyncProducer:
    producer: AsyncProducer = request.app.state.producer
    return producer


def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def get_app_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_tenant(
    keys: Annotated[KeyStore, Depends(get_keys)],
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    key = x_api_key
    if key is None and authorization is not None:
        scheme, _, token = authorization.partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    tenant = keys.tenant_for(key)
    if tenant is None:
        raise Unauthorized(
            "a valid API key is required (X-API-Key: <key> or Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


ProducerDep = Annotated[AsyncProducer, Depends(get_producer)]
SettingsDep = Annotated[GatewaySettings, Depends(get_app_settings)]
TenantDep = Annotated[str, Depends(get_tenant)]
