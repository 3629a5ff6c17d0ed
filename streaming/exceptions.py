"""Errors raised by the streaming job."""


class StreamingError(Exception):
    """Base class for every error the streaming package raises."""


class MissingJarsError(StreamingError):
    """The Spark extras (Kafka source, Delta) are not where the settings say."""
