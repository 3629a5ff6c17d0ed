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


class InvalidFailureRecord(IngestError):
    """A message on the DQ-failure topic is not a failure record of ../shared/CONTRACT.md.

    `where` names the Kafka position (`topic/partition@offset`) when the message came from Kafka."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.where = where


class InvalidFailureFilter(IngestError, ValueError):
    """A failure-subscription filter is not valid (an unknown severity, an empty pattern)."""


class TopicNotFound(IngestError):
    """The topic to read does not exist on the cluster."""
