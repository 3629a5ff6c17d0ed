"""Errors raised by the ingest package."""


class IngestError(Exception):
    """Base class for every error the ingest package raises."""


class BrokerUnavailable(IngestError):
    """Kafka could not take or acknowledge a write (broker down, timeout, producer queue full)."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProducerClosed(IngestError):
    """The producer was closed (the process is shutting down)."""
