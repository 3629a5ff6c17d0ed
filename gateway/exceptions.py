"""Errors raised by the gateway; each maps to one HTTP answer in `gateway.app`."""


class GatewayError(Exception):
    status_code = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(GatewayError):
    status_code = 400


class Unauthorized(GatewayError):
    status_code = 401


class Forbidden(GatewayError):
    status_code = 403


class PayloadTooLarge(GatewayError):
    status_code = 413


class UnsupportedMediaType(GatewayError):
    status_code = 415


class TooManyRequests(GatewayError):
    status_code = 429


class Unavailable(GatewayError):
    status_code = 503


class ConfigError(Exception):
    """The gateway's configuration is unusable (for example, no API keys)."""
