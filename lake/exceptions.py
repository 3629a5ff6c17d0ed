"""Errors raised by the lake package."""


class LakeError(Exception):
    """Base class for every error the lake package raises."""


class MissingJarsError(LakeError):
    """The Spark extras (Kafka source, Delta) are not where the settings say."""


class LocalFsJarError(LakeError):
    """Weir's local file system classes (`lake/jvm`) could not be compiled or packed."""
