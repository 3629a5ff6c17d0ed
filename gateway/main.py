"""Entry point: `weir gateway` runs the app under uvicorn (one worker process; more arrive with issue #4)."""

import uvicorn

from gateway.app import create_app
from gateway.settings import get_settings


def run(host: str | None = None, port: int | None = None) -> None:
    settings = get_settings()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.gateway_host,
        port=port or settings.gateway_port,
        log_level="info",
        timeout_graceful_shutdown=settings.delivery_timeout_ms // 1000 + 5,
    )
