"""Errors raised by the lake package."""


class LakeError(Exception):
    """Base class for every error the lake package raises."""


class MissingJarsError(LakeError):
    """The Spark extras (Kafka source, Delta) are not where the settings say."""
