"""Errors raised by the streaming job."""


class StreamingError(Exception):
    """Base class for every error the streaming package raises."""


class DataQualityStop(StreamingError):
    """A rule of severity `fail` broke: the query stops at this micro-batch, before its silver and quarantine
    writes; a restart replays the batch (and stops again until the data or the contract is fixed)."""

    def __init__(self, rule: str, event_type: str | None, event_id: str | None, message: str, count: int) -> None:
        self.rule, self.event_type, self.event_id, self.count = rule, event_type, event_id, count
        super().__init__(
            f"data-quality rule {rule!r} (severity fail) broke on event {event_id} of type {event_type}: {message}"
            f" ({count} event(s) of this micro-batch broke fail rules). The stream stopped before writing silver"
            " and quarantine; fix the producer or the contract, then restart `weir stream`."
        )


class ContractsError(StreamingError):
    """The contracts the stream checks events against cannot be loaded."""
