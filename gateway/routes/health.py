"""Liveness, readiness and Prometheus metrics."""

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.deps import STOPPING, ProducerDep, SettingsDep
from gateway.responses import JSON
from observability.exposition import exposition
from observability.metrics import GATEWAY_PRODUCER_QUEUE

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Kafka is unreachable or the gateway is stopping."}})
async def readyz(producer: ProducerDep, settings: SettingsDep) -> JSON:
    """Ready when a metadata request reaches Kafka through the producer (so never before the first one
    succeeded), and not stopping (503 from the moment SIGTERM arrived)."""
    if STOPPING.is_set():
        return JSON({"status": "stopping", "kafka": "unknown"}, status_code=503)
    ok = await asyncio.to_thread(producer.check_connection, settings.readiness_timeout_s)
    if not ok:
        return JSON({"status": "unavailable", "kafka": "unreachable"}, status_code=503)
    return JSON({"status": "ready", "kafka": "reachable"})


@router.get("/metrics", include_in_schema=False)
async def metrics(producer: ProducerDep) -> Response:
    GATEWAY_PRODUCER_QUEUE.set(producer.queue_depth())
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
