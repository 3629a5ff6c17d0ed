"""Errors raised by the batch jobs. Each is a bad input or a state the user can act on; its message says what."""


class BatchError(Exception):
    """Base class for every error the batch package raises."""


class BadRangeError(BatchError):
    """A date range, table or filter a job cannot run on (a reversed range, an unknown table, a future date)."""


class ImportFileError(BatchError):
    """A file `weir import` refuses: unreadable, of an unknown format, or malformed at a line (named)."""


class ConflictError(BatchError):
    """A write kept losing to concurrent writers (the stream, another job) after every retry."""


class SweepFailed(BatchError):
    """A dataset rule of severity `fail` broke in a sweep (the sweep's report says which)."""
